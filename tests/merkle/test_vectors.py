"""The tree's known-answer values from the shared ``vectors.json`` (reference §4.4)."""

import json

from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import fixture_path
from zkos_tw.merkle import MerkleTree
from zkos_tw.merkle.hashes import EMPTY, MAX_KEY, MIN_KEY, ZERO32, hash_leaf
from zkos_tw.testing.memory_tree_store import MemoryTreeStore


def _vectors():
    with open(fixture_path("zksync-os", "vectors.json")) as f:
        return json.load(f)["tree"]


def _b(hex_string):
    return bytes.fromhex(hex_string[2:])


class EmptyHashTests(SynchronousTestCase):
    """Empty-subtree hashes and guard leaves."""

    def test_empty_hashes(self):
        """E0, E1, E63 and E64 match."""
        v = _vectors()
        self.assertEqual(EMPTY[0], _b(v["empty_leaf_E0"]))
        self.assertEqual(EMPTY[1], _b(v["E1"]))
        self.assertEqual(EMPTY[63], _b(v["E63"]))
        self.assertEqual(EMPTY[64], _b(v["E64"]))
        self.assertEqual(v["depth"], 64)

    def test_guard_leaves(self):
        """The min guard (next 1) and max guard leaf hashes match."""
        v = _vectors()
        self.assertEqual(hash_leaf(MIN_KEY, ZERO32, 1), _b(v["min_guard_leaf_hash_next_1"]))
        self.assertEqual(hash_leaf(MAX_KEY, ZERO32, 1), _b(v["max_guard_leaf_hash"]))

    def test_empty_tree_root(self):
        """A tree holding only the guards has the known root and two leaves."""
        tree = MerkleTree(MemoryTreeStore())
        patch = tree.apply(0, [])
        self.assertEqual(patch.root, _b(_vectors()["empty_tree_root"]))
        self.assertEqual(patch.leaf_count, 2)


class SequenceTests(SynchronousTestCase):
    """Every step of every vector sequence, applied as consecutive versions."""

    def test_sequences(self):
        """Each step's root and leaf count match; reopening the store gives the same tree."""
        for sequence in _vectors()["sequences"]:
            store = MemoryTreeStore()
            tree = MerkleTree(store)
            for version, step in enumerate(sequence["steps"]):
                writes = [(_b(k), _b(v)) for k, v in step["writes"]]
                patch = tree.apply(version, writes)
                store.write_patch(patch.records)
                self.assertEqual(patch.root, _b(step["root"]), f"version {version}")
                self.assertEqual(patch.leaf_count, step["leaf_count"])
            reopened = MerkleTree(store)
            self.assertEqual(reopened.root(), tree.root())
            self.assertEqual(reopened.leaf_count(), tree.leaf_count())

    def test_indices_and_links(self):
        """Inserting 0xc0ffeefe then 0xdeadbeef gives indices 2, 3 and next pointers 3, 1."""
        tree = MerkleTree(MemoryTreeStore())
        a = (0xC0FFEEFE).to_bytes(32, "big")
        b = (0xDEADBEEF).to_bytes(32, "big")
        tree.apply(0, [(a, b"\x10" * 32), (b, b"\x20" * 32)])
        self.assertEqual(tree.index_of(a), 2)
        self.assertEqual(tree.index_of(b), 3)
        self.assertEqual(tree.leaf_proof(2).next_index, 3)
        self.assertEqual(tree.leaf_proof(3).next_index, 1)
        self.assertEqual(tree.leaf_proof(0).next_index, 2)
