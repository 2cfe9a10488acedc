"""``FlatState``: conformance to ``IExecutionState`` and the ZKsync OS block output."""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.state.execution_state_conformance import CODE, A, B, IExecutionStateConformance
from tests.strategies import addresses, slots, words
from zkos_tw.hashing import blake2s256
from zkos_tw.merkle import MerkleTree
from zkos_tw.state import (
    AccountProperties,
    FlatState,
    StateCorrupt,
    StateError,
    account_key,
    flat_key,
)
from zkos_tw.state.keys import ACCOUNT_PROPERTIES_STORAGE_ADDRESS, warm_key_order
from zkos_tw.testing.memory_flat_state import MemoryFlatState, MemoryPreimages
from zkos_tw.testing.memory_tree_store import MemoryTreeStore


def _slot(n):
    return n.to_bytes(32, "big")


class FlatStateConformanceTests(IExecutionStateConformance, SynchronousTestCase):
    """``FlatState`` over an empty in-memory flat state."""

    def make_state(self):
        return FlatState(MemoryFlatState(), MemoryPreimages())


class BlockOutputTests(SynchronousTestCase):
    """Net writes, existence rules, ordering and preimages of ``finish_block``."""

    def setUp(self):
        self.flat = MemoryFlatState()
        self.preimages = MemoryPreimages()

    def commit_block(self, number, output):
        self.flat.write_block(number, output.tree_writes())
        self.preimages.update(output.preimages)

    def test_net_changes_only(self):
        """Slots back at their start value and never-existing slots set to 0 are not written."""
        s = FlatState(self.flat, self.preimages)
        s.set_storage(A, 1, 5)
        s.set_storage(A, 1, 0)
        s.set_storage(A, 2, 0)
        s.set_storage(A, 3, 4)
        out = s.finish_block()
        self.assertEqual([(w.address, w.slot) for w in out.storage_writes], [(A, _slot(3))])
        self.assertEqual(out.storage_writes[0].key, flat_key(A, _slot(3)))
        self.assertEqual(out.storage_writes[0].value, _slot(4))
        self.commit_block(1, out)
        s = FlatState(self.flat.at(1), self.preimages)
        s.set_storage(A, 3, 0)
        out = s.finish_block()
        self.assertEqual(out.tree_writes(), [(flat_key(A, _slot(3)), bytes(32))])

    def test_account_records(self):
        """A changed account is written as the hash of its record, with the record as preimage."""
        s = FlatState(self.flat, self.preimages)
        s.set_nonce(A, 1)
        s.set_balance(A, 100)
        s.set_code(B, CODE)
        out = s.finish_block()
        by_key = dict(out.tree_writes())
        record = AccountProperties(nonce=1, balance=100)
        self.assertEqual(by_key[account_key(A)], record.hash())
        preimages = dict(out.preimages)
        self.assertEqual(preimages[record.hash()], record.encode())
        b_hash = by_key[account_key(B)]
        b_record = AccountProperties.decode(preimages[b_hash])
        self.assertEqual(blake2s256(preimages[b_record.bytecode_hash]), b_record.bytecode_hash)
        self.commit_block(1, out)
        again = FlatState(self.flat.at(1), self.preimages)
        self.assertEqual(
            (again.get_nonce(A), again.get_balance(A), again.get_code(B)), (1, 100, CODE)
        )

    def test_account_reset_to_zero_is_written(self):
        """An existing account drained to the all-zero record is written as the hash of zeros."""
        s = FlatState(self.flat, self.preimages)
        s.set_balance(A, 1)
        self.commit_block(1, s.finish_block())
        s = FlatState(self.flat.at(1), self.preimages)
        s.set_balance(A, 0)
        out = s.finish_block()
        self.assertEqual(out.tree_writes(), [(account_key(A), AccountProperties().hash())])
        self.assertFalse(s.account_exists(A))

    def test_unchanged_account_not_written(self):
        """An account changed and changed back is not written."""
        s = FlatState(self.flat, self.preimages)
        s.set_balance(A, 5)
        s.set_balance(A, 0)
        self.assertEqual(s.finish_block().storage_writes, ())

    @given(
        st.lists(st.tuples(addresses, slots, words), max_size=20), st.lists(addresses, max_size=4)
    )
    def test_canonical_order(self, writes, funded):
        """Writes come sorted by the WarmStorageKey order, accounts under 0x8003 included."""
        s = FlatState(MemoryFlatState(), MemoryPreimages())
        for address, slot, value in writes:
            s.set_storage(address, slot, value)
        for address in funded:
            s.set_balance(address, 1)
        out = s.finish_block()
        orders = [warm_key_order(w.address, w.slot) for w in out.storage_writes]
        self.assertEqual(orders, sorted(orders))
        self.assertEqual(len({w.key for w in out.storage_writes}), len(out.storage_writes))
        for w in out.storage_writes:
            if w.address == ACCOUNT_PROPERTIES_STORAGE_ADDRESS:
                self.assertEqual(w.key, account_key(w.slot[12:]))
            else:
                self.assertEqual(w.key, flat_key(w.address, w.slot))
        tree = MerkleTree(MemoryTreeStore())
        tree.apply(0, [])
        tree.apply(1, out.tree_writes())

    def test_consecutive_blocks(self):
        """After ``finish_block`` the view diffs the next block against the previous end state."""
        s = FlatState(self.flat, self.preimages)
        s.set_storage(A, 1, 1)
        s.finish_block()
        s.set_storage(A, 1, 1)
        s.set_storage(A, 2, 2)
        self.assertEqual([w.slot for w in s.finish_block().storage_writes], [_slot(2)])

    def test_journal_misuse(self):
        """Unbalanced checkpoints and block ends inside a transaction raise ``StateError``."""
        s = FlatState(self.flat, self.preimages)
        self.assertRaises(StateError, s.commit)
        self.assertRaises(StateError, s.rollback)
        s.begin_transaction()
        self.assertRaises(StateError, s.finish_block)
        s.begin()
        self.assertRaises(StateError, s.end_transaction)

    def test_missing_preimage(self):
        """An account hash without its record is reported as corruption."""
        self.flat.write_block(0, [(account_key(A), b"\x01" * 32)])
        s = FlatState(self.flat, self.preimages)
        self.assertRaises(StateCorrupt, s.get_balance, A)

    def test_limits(self):
        """Nonces are u64, storage 256-bit; 0x8003 storage is only written through accounts."""
        s = FlatState(self.flat, self.preimages)
        self.assertRaises(ValueError, s.set_nonce, A, 2**64)
        self.assertRaises(ValueError, s.set_storage, A, 0, 2**256)
        self.assertRaises(ValueError, s.set_storage, ACCOUNT_PROPERTIES_STORAGE_ADDRESS, 0, 1)
        self.assertFalse(s.account_has_storage(A))


class MemoryStateConformanceTests(IExecutionStateConformance, SynchronousTestCase):
    """The Ethereum-style ``MemoryState`` of ``zkos_tw.testing`` passes the same mixin."""

    def make_state(self):
        from zkos_tw.testing.memory_state import MemoryState

        return MemoryState()
