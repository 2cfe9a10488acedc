"""LMDB storage under the real state model and tree: genesis and one block go through
``BlockWrite``, and after reopening, ``FlatState`` over ``state_at`` / ``preimage_store`` and
``MerkleTree`` over ``tree_store`` see exactly what was written."""

from __future__ import annotations

import os

from twisted.trial.unittest import TestCase

from tests.fixtures import REPO_ROOT
from zkos_tw.genesis import build_genesis, load_genesis
from zkos_tw.merkle.tree import MerkleTree
from zkos_tw.state.view import FlatState
from zkos_tw.storage import BlockWrite, LMDBStorage

ALICE = b"\xa1" * 20


class GenesisAndBlockTests(TestCase):
    """Genesis and block 1 through LMDB storage, read back after reopening."""

    def setUp(self):
        self.path = os.path.abspath(self.mktemp())

    def test_genesis_then_block(self):
        """State, preimages and tree roots survive reopening, block by block."""
        genesis_input = load_genesis(os.path.join(REPO_ROOT, "genesis.json"))
        self.assertTrue(genesis_input.initial_contracts)
        storage = LMDBStorage(self.path)
        tree = MerkleTree(storage.tree_store())
        genesis, patch0 = build_genesis(genesis_input, tree)
        storage.write_block(
            BlockWrite(
                0,
                genesis.block_hash,
                b"wal 0",
                genesis.header_rlp,
                state_writes=genesis.storage_writes,
                preimages=genesis.preimages,
                tree_patch=tuple(patch0.records),
            )
        )
        state = FlatState(storage.state_at(0), storage.preimage_store())
        state.set_balance(ALICE, 10**18)
        state.set_nonce(ALICE, 3)
        output = state.finish_block()
        patch1 = tree.apply(1, output.tree_writes())
        storage.write_block(
            BlockWrite(
                1,
                b"\x01" * 32,
                b"wal 1",
                b"block 1",
                state_writes=tuple(output.tree_writes()),
                preimages=output.preimages,
                tree_patch=tuple(patch1.records),
            )
        )
        storage.close()

        storage = LMDBStorage(self.path)
        self.addCleanup(storage.close)
        reloaded = MerkleTree(storage.tree_store())
        self.assertEqual(reloaded.latest_version, 1)
        self.assertEqual(reloaded.root(0), genesis.tree_root)
        self.assertEqual(reloaded.root(1), patch1.root)
        self.assertEqual(reloaded.leaf_count(1), patch1.leaf_count)
        before = FlatState(storage.state_at(0), storage.preimage_store())
        after = FlatState(storage.state_at(1), storage.preimage_store())
        self.assertEqual((before.get_balance(ALICE), before.get_nonce(ALICE)), (0, 0))
        self.assertEqual((after.get_balance(ALICE), after.get_nonce(ALICE)), (10**18, 3))
        for address, code in genesis_input.initial_contracts:
            self.assertEqual(after.get_code(address), code)
            self.assertEqual(after.get_nonce(address), 1)
