"""The tree and the flat state over the real LMDB storage (``zkos_tw.storage``), end to end.

Genesis and a few blocks are executed through ``FlatState``, their ordered writes applied to the
tree, and each block persisted in one ``BlockWrite`` with the tree patch; a fresh tree opened on
the storage must then reproduce every version's root, values and proofs.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import fixture_path
from zkos_tw.genesis import build_genesis, load_genesis
from zkos_tw.merkle import MerkleTree, verify_key_proof
from zkos_tw.state import FlatState, account_key, flat_key
from zkos_tw.storage import BlockWrite, LMDBStorage

A = b"\xaa" * 20
WRAPPED = (0x010007).to_bytes(20, "big")


def _block_write(number, state_writes=(), preimages=(), patch=()):
    return BlockWrite(
        number=number,
        block_hash=number.to_bytes(32, "big"),
        wal_record=b"wal %d" % number,
        block_record=b"block %d" % number,
        state_writes=tuple(state_writes),
        preimages=tuple(preimages),
        tree_patch=tuple(patch),
    )


class LMDBTreeTests(SynchronousTestCase):
    """Blocks written through LMDB come back as the same tree versions and states."""

    def test_blocks_round_trip(self):
        """Roots, values and proofs of every version survive closing and reopening."""
        path = self.mktemp()
        genesis = load_genesis(fixture_path("zksync-os", "genesis.json"))
        storage = LMDBStorage(path)
        tree = MerkleTree(storage.tree_store())
        result, patch = build_genesis(genesis, tree)
        storage.write_block(_block_write(0, result.storage_writes, result.preimages, patch.records))
        roots = [patch.root]
        for number in range(1, 4):
            state = FlatState(storage.state_at(number - 1), storage.preimage_store())
            state.begin_transaction()
            state.set_balance(A, 10 * number)
            state.set_storage(WRAPPED, number, number)
            state.set_storage(WRAPPED, 1, 100 + number)
            state.end_transaction()
            output = state.finish_block()
            patch = tree.apply(number, output.tree_writes())
            storage.write_block(
                _block_write(number, output.tree_writes(), output.preimages, patch.records)
            )
            roots.append(patch.root)
        storage.close()

        storage = LMDBStorage(path)
        self.addCleanup(storage.close)
        reopened = MerkleTree(storage.tree_store())
        self.assertEqual(reopened.latest_version, 3)
        for version, root in enumerate(roots):
            self.assertEqual(reopened.root(version), root)
            for key in (account_key(A), flat_key(WRAPPED, (1).to_bytes(32, "big"))):
                value = storage.state_at(version).read(key)
                self.assertEqual(reopened.get(key, version), value)
                self.assertEqual(verify_key_proof(root, reopened.prove(key, version)), value)
        state = FlatState(storage.state_at(3), storage.preimage_store())
        self.assertEqual((state.get_balance(A), state.get_storage(WRAPPED, 1)), (30, 103))
        self.assertEqual(state.get_nonce(WRAPPED), 1)
        self.assertEqual(len(state.get_code(WRAPPED)), 9593)
