"""``IExecutionStateConformance``: the behaviour every ``IExecutionState`` must show.

Bind it with a ``SynchronousTestCase`` subclass that defines ``make_state()`` returning a fresh,
empty state (STYLE rule 19).
"""

from zope.interface.verify import verifyObject

from zkos_tw.hashing import keccak256
from zkos_tw.interfaces import IExecutionState

A = b"\xaa" * 20
B = b"\xbb" * 20
CODE = bytes.fromhex("6001600055005b")


class IExecutionStateConformance:
    """Mixin of conformance tests; ``self.make_state()`` gives an empty state."""

    def make_state(self):
        """An empty state of the implementation under test; each binding overrides this."""
        raise NotImplementedError

    def test_provides(self):
        """The state provides ``IExecutionState``."""
        self.assertTrue(verifyObject(IExecutionState, self.make_state()))

    def test_missing_account(self):
        """A missing account reads as nonce 0, balance 0, no code, zero storage, empty."""
        s = self.make_state()
        self.assertEqual((s.get_nonce(A), s.get_balance(A), s.get_code(A)), (0, 0, b""))
        self.assertEqual(s.get_storage(A, 1), 0)
        self.assertFalse(s.account_exists(A))
        self.assertTrue(s.is_empty(A))

    def test_setters(self):
        """Nonce, balance, code and storage read back; an account with a nonce exists."""
        s = self.make_state()
        s.set_nonce(A, 3)
        s.set_balance(A, 10**20)
        s.set_code(A, CODE)
        s.set_storage(A, 7, 99)
        self.assertEqual((s.get_nonce(A), s.get_balance(A), s.get_code(A)), (3, 10**20, CODE))
        self.assertEqual(s.get_code_hash(A), keccak256(CODE))
        self.assertEqual(s.get_storage(A, 7), 99)
        self.assertTrue(s.account_exists(A))
        self.assertFalse(s.is_empty(A))

    def test_rollback(self):
        """``rollback`` undoes accounts, code, storage and transient storage of the frame."""
        s = self.make_state()
        s.begin_transaction()
        s.set_balance(A, 5)
        s.set_storage(A, 1, 1)
        s.begin()
        s.set_balance(A, 6)
        s.set_nonce(B, 1)
        s.set_code(B, CODE)
        s.set_storage(A, 1, 2)
        s.set_transient_storage(A, 1, 3)
        s.rollback()
        self.assertEqual((s.get_balance(A), s.get_storage(A, 1)), (5, 1))
        self.assertEqual((s.get_nonce(B), s.get_code(B)), (0, b""))
        self.assertEqual(s.get_transient_storage(A, 1), 0)
        s.end_transaction()

    def test_nested(self):
        """An inner commit folds into the outer frame, which can still roll it back."""
        s = self.make_state()
        s.begin_transaction()
        s.begin()
        s.set_storage(A, 1, 1)
        s.begin()
        s.set_storage(A, 1, 2)
        s.commit()
        self.assertEqual(s.get_storage(A, 1), 2)
        s.rollback()
        self.assertEqual(s.get_storage(A, 1), 0)
        s.begin()
        s.set_storage(A, 2, 5)
        s.commit()
        self.assertEqual(s.get_storage(A, 2), 5)
        s.end_transaction()

    def test_original_storage(self):
        """Original values are those at ``begin_transaction``, whatever happens after."""
        s = self.make_state()
        s.begin_transaction()
        s.set_storage(A, 1, 10)
        s.end_transaction()
        s.begin_transaction()
        self.assertEqual(s.get_original_storage(A, 1), 10)
        s.set_storage(A, 1, 11)
        s.begin()
        s.set_storage(A, 1, 12)
        s.rollback()
        s.set_storage(A, 1, 13)
        self.assertEqual(s.get_original_storage(A, 1), 10)
        self.assertEqual(s.get_original_storage(A, 2), 0)
        s.end_transaction()
        s.begin_transaction()
        self.assertEqual(s.get_original_storage(A, 1), 13)
        s.end_transaction()

    def test_transient_storage(self):
        """Transient slots live for one transaction and are journaled."""
        s = self.make_state()
        s.begin_transaction()
        s.set_transient_storage(A, 1, 7)
        s.begin()
        s.set_transient_storage(A, 1, 8)
        s.commit()
        self.assertEqual(s.get_transient_storage(A, 1), 8)
        self.assertEqual(s.get_storage(A, 1), 0)
        s.end_transaction()
        s.begin_transaction()
        self.assertEqual(s.get_transient_storage(A, 1), 0)
        s.end_transaction()

    def test_destroy(self):
        """``destroy_account`` removes balance, nonce, code and storage; a rollback restores them."""
        s = self.make_state()
        s.begin_transaction()
        s.set_nonce(A, 1)
        s.set_balance(A, 9)
        s.set_code(A, CODE)
        s.set_storage(A, 4, 4)
        s.begin()
        s.destroy_account(A)
        self.assertEqual(
            (s.get_nonce(A), s.get_balance(A), s.get_code(A), s.get_storage(A, 4)), (0, 0, b"", 0)
        )
        self.assertFalse(s.account_exists(A))
        s.rollback()
        self.assertEqual(
            (s.get_nonce(A), s.get_balance(A), s.get_code(A), s.get_storage(A, 4)), (1, 9, CODE, 4)
        )
        s.destroy_account(A)
        self.assertEqual(s.get_storage(A, 4), 0)
        s.end_transaction()
