"""``MemoryState``: the IExecutionState contract, journaling and transaction scoping."""

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from zkos_tw.interfaces import IExecutionState
from zkos_tw.testing import MemoryState
from zkos_tw.testing.memory_state import EMPTY_CODE_HASH

A = b"\xaa" * 20
B = b"\xbb" * 20


class MemoryStateTests(SynchronousTestCase):
    """Reads of missing accounts, nested checkpoints, original and transient storage."""

    def test_provides_interface(self):
        """MemoryState implements every method of IExecutionState."""
        self.assertTrue(verifyObject(IExecutionState, MemoryState()))

    def test_missing_account_reads_as_empty(self):
        """A missing account has nonce 0, balance 0, no code and zero storage, and reading it
        does not create it."""
        state = MemoryState()
        self.assertEqual((state.get_nonce(A), state.get_balance(A), state.get_code(A)), (0, 0, b""))
        self.assertEqual(state.get_code_hash(A), EMPTY_CODE_HASH)
        self.assertEqual(state.get_storage(A, 1), 0)
        self.assertFalse(state.account_exists(A))
        self.assertTrue(state.is_empty(A))

    def test_nested_rollback(self):
        """Rolling back the inner checkpoint keeps the outer changes; then the outer one goes."""
        state = MemoryState()
        state.begin_transaction()
        state.begin()
        state.set_balance(A, 5)
        state.begin()
        state.set_balance(A, 7)
        state.set_storage(A, 1, 9)
        state.set_code(B, b"\x01")
        state.rollback()
        self.assertEqual(state.get_balance(A), 5)
        self.assertEqual(state.get_storage(A, 1), 0)
        self.assertFalse(state.account_exists(B))
        state.rollback()
        self.assertFalse(state.account_exists(A))
        state.end_transaction()

    def test_commit_folds_into_parent(self):
        """After commit, a rollback of the parent undoes the committed child too."""
        state = MemoryState()
        state.begin_transaction()
        state.begin()
        state.begin()
        state.set_storage(A, 1, 3)
        state.commit()
        self.assertEqual(state.get_storage(A, 1), 3)
        state.rollback()
        self.assertEqual(state.get_storage(A, 1), 0)
        state.end_transaction()

    def test_destroy_and_rollback(self):
        """destroy_account removes code and storage; rollback restores both."""
        state = MemoryState()
        state.set_account(A, nonce=1, code=b"\x00", storage={1: 2})
        state.begin_transaction()
        state.begin()
        state.destroy_account(A)
        self.assertFalse(state.account_exists(A))
        self.assertFalse(state.account_has_storage(A))
        state.rollback()
        self.assertEqual(state.get_storage(A, 1), 2)
        self.assertEqual(state.get_code(A), b"\x00")
        state.end_transaction()

    def test_original_storage(self):
        """get_original_storage answers the value at begin_transaction, whatever came after."""
        state = MemoryState()
        state.set_account(A, storage={1: 10})
        state.begin_transaction()
        state.set_storage(A, 1, 11)
        state.set_storage(A, 1, 12)
        self.assertEqual(state.get_original_storage(A, 1), 10)
        self.assertEqual(state.get_original_storage(A, 2), 0)
        state.end_transaction()
        state.begin_transaction()
        self.assertEqual(state.get_original_storage(A, 1), 12)
        state.end_transaction()

    def test_transient_storage(self):
        """Transient slots roll back with checkpoints and vanish at end_transaction."""
        state = MemoryState()
        state.begin_transaction()
        state.set_transient_storage(A, 1, 5)
        state.begin()
        state.set_transient_storage(A, 1, 6)
        state.rollback()
        self.assertEqual(state.get_transient_storage(A, 1), 5)
        state.end_transaction()
        self.assertEqual(state.get_transient_storage(A, 1), 0)

    def test_checkpoint_across_transaction_end(self):
        """end_transaction with an open checkpoint is a programming error."""
        state = MemoryState()
        state.begin_transaction()
        state.begin()
        self.assertRaises(RuntimeError, state.end_transaction)
