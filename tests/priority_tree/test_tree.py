"""``zkos_tw.priority_tree``: roots and range proofs equal an untrimmed model's (the Python model of
the L1 contract's tree in ``tests/contracts/model.py``) through any history of pushes and trims; the
snapshot codec with golden bytes."""

from __future__ import annotations

from hypothesis import given
from twisted.trial.unittest import SynchronousTestCase

from tests.contracts import model
from tests.strategies import priority_tree_histories
from zkos_tw.hashing import keccak256
from zkos_tw.priority_tree import (
    EMPTY_LEAF,
    PriorityTree,
    PriorityTreeError,
    PriorityTreeSnapshot,
)


def leaf(i: int) -> bytes:
    return keccak256(i.to_bytes(8, "big"))


class TreeTests(SynchronousTestCase):
    def test_small_roots(self):
        """The contract's shape: empty = 0, one leaf = the leaf, then doubling with keccak('')."""
        tree = PriorityTree()
        self.assertEqual(tree.root(), bytes(32))
        tree.push(leaf(0))
        self.assertEqual(tree.root(), leaf(0))
        tree.push(leaf(1))
        self.assertEqual(tree.root(), keccak256(leaf(0) + leaf(1)))
        tree.push(leaf(2))
        self.assertEqual(
            tree.root(),
            keccak256(keccak256(leaf(0) + leaf(1)) + keccak256(leaf(2) + EMPTY_LEAF)),
        )

    @given(priority_tree_histories(max_leaves=24))
    def test_matches_the_untrimmed_model(self, history):
        """After every push (and trim), the root and the proof of every held range are the
        model's, and a snapshot restored and refilled gives the same again."""
        leaves, trims = history
        tree, reference = PriorityTree(), model.PriorityTree()
        for pushed, (item, start) in enumerate(zip(leaves, trims, strict=True), 1):
            tree.push(item)
            reference.push(item)
            tree.trim(start)
            self.assertEqual(tree.root(), reference.root())
            for first in range(start, pushed):
                for count in (1, pushed - first):
                    proof = tree.range_proof(first, count)
                    self.assertEqual(proof.as_tuple(), reference.range_proof(first, count))
            restored = PriorityTreeSnapshot.decode(tree.snapshot(pushed).encode()).tree()
            restored.extend(leaves[start:pushed])
            self.assertEqual(restored.root(), reference.root())
            if start < pushed:
                self.assertEqual(
                    restored.range_proof(start, pushed - start),
                    tree.range_proof(start, pushed - start),
                )

    def test_trimmed_ranges_refused(self):
        """A proof of trimmed leaves, a trim backwards or past the end: a clear error."""
        tree = PriorityTree()
        tree.extend(leaf(i) for i in range(5))
        tree.trim(3)
        self.assertEqual(tree.start_index, 3)
        self.assertEqual(len(tree), 5)
        self.assertRaises(PriorityTreeError, tree.range_proof, 2, 1)
        self.assertRaises(PriorityTreeError, tree.range_proof, 3, 3)
        self.assertRaises(PriorityTreeError, tree.trim, 2)
        self.assertRaises(PriorityTreeError, tree.trim, 6)
        self.assertRaises(PriorityTreeError, tree.push, b"short")
        self.assertEqual(tree.range_proof(4, 0).as_tuple(), ([], [], []))

    def test_trim_all_then_grow(self):
        """Everything executed: the tree still proves the next leaves after they arrive."""
        tree, reference = PriorityTree(), model.PriorityTree()
        for i in range(6):
            tree.push(leaf(i))
            reference.push(leaf(i))
        tree.trim(6)
        self.assertEqual(tree.root(), reference.root())
        for i in range(6, 11):
            tree.push(leaf(i))
            reference.push(leaf(i))
        self.assertEqual(tree.root(), reference.root())
        self.assertEqual(tree.range_proof(6, 5).as_tuple(), reference.range_proof(6, 5))


class SnapshotTests(SynchronousTestCase):
    def test_golden_bytes(self):
        """Version 1 layout: version, block, start, count, (height, hash) by height."""
        tree = PriorityTree()
        tree.extend(leaf(i) for i in range(6))
        tree.trim(5)  # bits 0 and 2: the cache holds leaf 4 and the root of leaves 0..3
        raw = tree.snapshot(17).encode()
        expected = (
            "01"
            + "0000000000000011"
            + "0000000000000005"
            + "02"
            + "00"
            + leaf(4).hex()
            + "02"
            + keccak256(keccak256(leaf(0) + leaf(1)) + keccak256(leaf(2) + leaf(3))).hex()
        )
        self.assertEqual(raw.hex(), expected)
        snapshot = PriorityTreeSnapshot.decode(raw)
        self.assertEqual((snapshot.block_number, snapshot.start_index), (17, 5))

    def test_corrupt_snapshots_refused(self):
        """Another version, a truncated body, a cache that does not fit the start index."""
        good = PriorityTree().snapshot(0).encode()
        self.assertEqual(PriorityTreeSnapshot.decode(good).start_index, 0)
        for raw in (b"", b"\x02" + good[1:], good[:10], good + b"\x00"):
            self.assertRaises(PriorityTreeError, PriorityTreeSnapshot.decode, raw)
        wrong = bytes([1]) + (0).to_bytes(8, "big") + (4).to_bytes(8, "big") + b"\x00"
        self.assertRaises(PriorityTreeError, PriorityTreeSnapshot.decode, wrong)
