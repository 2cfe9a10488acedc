"""Tests for ``zkos_tw.chain``: block 0 from genesis.json into LMDB, and the checks on reopening."""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT
from zkos_tw.chain import open_chain
from zkos_tw.config import load_config
from zkos_tw.launcher import StartupError
from zkos_tw.node import block_timestamp

GENESIS = os.path.join(REPO_ROOT, "genesis.json")


class OpenChainTests(SynchronousTestCase):
    """Opening chain data for a node."""

    def setUp(self):
        self.data = os.path.abspath(self.mktemp())

    def config(self, genesis=GENESIS):
        return load_config(
            {"general_rocks_db_path": self.data, "genesis_genesis_input_path": genesis}
        )

    def genesis_copy(self, **changes):
        with open(GENESIS) as f:
            document = json.load(f)
        document.update(changes)
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            json.dump(document, f)
        return path

    def test_fresh_then_reopen(self):
        """A fresh directory gets block 0 (its genesis root checked); reopening keeps it."""
        chain = open_chain(self.config())
        self.assertEqual(chain.last_block, 0)
        stored = chain.storage.block(0)
        self.assertEqual(stored.block_hash, chain.genesis.block_hash)
        self.assertEqual(block_timestamp(stored.block_record), 0)
        self.assertEqual(chain.tree.root(0), chain.genesis.tree_root)
        root = chain.tree.root(0)
        chain.close()
        again = open_chain(self.config())
        self.addCleanup(again.close)
        self.assertEqual(again.last_block, 0)
        self.assertEqual(again.tree.root(0), root)

    def test_genesis_root_mismatch(self):
        """A genesis.json whose genesis_root is wrong is refused with one line."""
        path = self.genesis_copy(genesis_root="0x" + "11" * 32)
        with self.assertRaises(StartupError) as ctx:
            open_chain(self.config(path))
        message = str(ctx.exception)
        self.assertIn("differs from genesis_root 0x1111", message)
        self.assertNotIn("\n", message)

    def test_other_genesis_on_existing_data(self):
        """Data written under one genesis is not served under another."""
        open_chain(self.config()).close()
        path = self.genesis_copy(initial_contracts=[], genesis_root=None)
        with self.assertRaises(StartupError) as ctx:
            open_chain(self.config(path))
        self.assertIn("genesis tree root", str(ctx.exception))

    def test_missing_genesis_file(self):
        """A missing genesis.json is one clear line."""
        with self.assertRaises(StartupError) as ctx:
            open_chain(self.config(os.path.join(self.data, "nope.json")))
        self.assertIn("cannot read genesis file", str(ctx.exception))

    def test_corrupt_data_directory(self):
        """A data directory that is not our LMDB environment is refused, not overwritten."""
        os.makedirs(self.data)
        with open(os.path.join(self.data, "data.mdb"), "wb") as f:
            f.write(b"this is not an lmdb file" * 1000)
        with self.assertRaises(StartupError) as ctx:
            open_chain(self.config())
        self.assertIn(self.data, str(ctx.exception))
        with open(os.path.join(self.data, "data.mdb"), "rb") as f:
            self.assertTrue(f.read().startswith(b"this is not an lmdb file"))
