"""Properties of ``MerkleTree``: incremental == from scratch, proofs, old versions, errors."""

from hashlib import blake2s

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.strategies import tree_blocks, tree_keys
from zkos_tw.merkle import (
    MerkleTree,
    ProofError,
    TreeError,
    TreeVersionError,
    verify_key_proof,
)
from zkos_tw.merkle.proofs import KeyProof, LeafProof
from zkos_tw.testing.memory_tree_store import MemoryTreeStore


def _h(data):
    return blake2s(data).digest()


def reference_root(blocks):
    """Root of the final state, computed independently by a naive full fold (spec §4.1-4.3)."""
    order = [bytes(32), b"\xff" * 32]
    values = {bytes(32): bytes(32), b"\xff" * 32: bytes(32)}
    for block in blocks:
        for key, value in block:
            if key not in values:
                order.append(key)
            values[key] = value
    ranked = sorted(order)
    index = {k: i for i, k in enumerate(order)}
    nxt = {k: index[ranked[r + 1]] for r, k in enumerate(ranked[:-1])}
    nxt[b"\xff" * 32] = 1
    level = [_h(k + values[k] + nxt[k].to_bytes(8, "little")) for k in order]
    empty = _h(bytes(72))
    for _ in range(64):
        if len(level) % 2:
            level.append(empty)
        level = [_h(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        empty = _h(empty + empty)
    return level[0], len(order)


def build(blocks):
    """Apply ``blocks`` as versions 0.. on a fresh store; return (tree, store, patches)."""
    store = MemoryTreeStore()
    tree = MerkleTree(store)
    patches = []
    for version, block in enumerate(blocks):
        patch = tree.apply(version, block)
        store.write_patch(patch.records)
        patches.append(patch)
    return tree, store, patches


class IncrementalTests(SynchronousTestCase):
    """The tree built block by block equals an independent from-scratch computation."""

    @given(tree_blocks())
    def test_incremental_equals_from_scratch(self, blocks):
        """Root and leaf count after every block match the naive full fold."""
        tree, store, patches = build(blocks)
        for n, patch in enumerate(patches):
            root, count = reference_root(blocks[: n + 1])
            self.assertEqual((patch.root, patch.leaf_count), (root, count))

    @given(tree_blocks())
    def test_reopen(self, blocks):
        """A tree reopened on its store has the same root, count and values."""
        tree, store, _ = build(blocks)
        again = MerkleTree(store)
        self.assertEqual((again.root(), again.leaf_count()), (tree.root(), tree.leaf_count()))
        for block in blocks:
            for key, _ in block:
                self.assertEqual(again.get(key), tree.get(key))

    def test_empty_block_keeps_root(self):
        """A block without writes is a new version with the same root."""
        tree, _, patches = build([[(b"\x01" * 32, b"\x02" * 32)], []])
        self.assertEqual(patches[0].root, patches[1].root)
        self.assertEqual(tree.latest_version, 1)


class OldVersionTests(SynchronousTestCase):
    """Every version stays readable after later writes."""

    @given(tree_blocks())
    def test_old_versions(self, blocks):
        """Root, leaf count and every value of each version read back after all blocks."""
        tree, _, patches = build(blocks)
        state = {}
        for version, block in enumerate(blocks):
            state.update(block)
            self.assertEqual(tree.root(version), patches[version].root)
            self.assertEqual(tree.leaf_count(version), patches[version].leaf_count)
            for key, value in state.items():
                self.assertEqual(tree.get(key, version), value)

    @given(tree_blocks(), tree_keys)
    def test_old_version_proofs(self, blocks, probe):
        """Proofs at old versions verify against that version's root and give its value."""
        tree, _, patches = build(blocks)
        state = {}
        for version, block in enumerate(blocks):
            state.update(block)
            for key in [probe, *state]:
                proof = tree.prove(key, version)
                self.assertEqual(verify_key_proof(patches[version].root, proof), state.get(key))

    def test_unknown_version(self):
        """Versions never applied raise ``TreeVersionError``."""
        tree, _, _ = build([[]])
        self.assertRaises(TreeVersionError, tree.root, 5)
        self.assertRaises(TreeVersionError, MerkleTree(MemoryTreeStore()).root)


class ProofTests(SynchronousTestCase):
    """Inclusion and non-inclusion proofs at the latest version."""

    @given(tree_blocks(), tree_keys)
    def test_proofs_verify(self, blocks, probe):
        """Present keys prove their value; an absent key proves absence."""
        tree, _, _ = build(blocks)
        root = tree.root()
        for block in blocks:
            for key, _ in block:
                self.assertEqual(verify_key_proof(root, tree.prove(key)), tree.get(key))
        self.assertEqual(verify_key_proof(root, tree.prove(probe)), tree.get(probe))

    @given(tree_blocks(), tree_keys, st.data())
    def test_tampered_proofs_fail(self, blocks, probe, data):
        """Changing any sibling, the value, the key or the index makes verification fail."""
        tree, _, _ = build(blocks)
        root = tree.root()
        proof = tree.prove(probe)
        leaf = proof.leaf or proof.prev
        level = data.draw(st.integers(0, 63))
        path = list(leaf.path)
        path[level] = bytes(b ^ 1 for b in path[level][:1]) + path[level][1:]
        bad = [
            LeafProof(leaf.index, leaf.key, leaf.value, leaf.next_index, tuple(path)),
            LeafProof(leaf.index, leaf.key, b"\x77" * 32, leaf.next_index, leaf.path),
            LeafProof(leaf.index ^ 1, leaf.key, leaf.value, leaf.next_index, leaf.path),
        ]
        for tampered in bad:
            if proof.leaf is not None:
                forged = KeyProof(probe, leaf=tampered)
            else:
                forged = KeyProof(probe, prev=tampered, next=proof.next)
            self.assertRaises(ProofError, verify_key_proof, root, forged)

    def test_forged_absence_fails(self):
        """A present key cannot be proven absent with a valid neighbour pair."""
        key = b"\x05" * 32
        tree, _, _ = build([[(key, b"\x01" * 32), (b"\x09" * 32, b"\x01" * 32)]])
        absent = tree.prove(b"\x06" * 32)
        self.assertRaises(
            ProofError,
            verify_key_proof,
            tree.root(),
            KeyProof(key, prev=absent.prev, next=absent.next),
        )
        present = tree.prove(key)
        self.assertRaises(
            ProofError, verify_key_proof, tree.root(), KeyProof(b"\x06" * 32, leaf=present.leaf)
        )


class ErrorTests(SynchronousTestCase):
    """Batches and versions the tree refuses, without changing its state."""

    def test_version_order(self):
        """Only the next version may be applied."""
        tree = MerkleTree(MemoryTreeStore())
        self.assertRaises(TreeVersionError, tree.apply, 1, [])
        tree.apply(0, [])
        self.assertRaises(TreeVersionError, tree.apply, 0, [])
        self.assertRaises(TreeVersionError, tree.apply, 2, [])

    def test_bad_batches(self):
        """Duplicate keys, guard keys and wrong lengths raise ``TreeError``; nothing changes."""
        tree = MerkleTree(MemoryTreeStore())
        tree.apply(0, [])
        root = tree.root()
        k = b"\x01" * 32
        for writes in ([(k, k), (k, k)], [(bytes(32), k)], [(b"\xff" * 32, k)], [(k, b"\x01")]):
            self.assertRaises(TreeError, tree.apply, 1, writes)
        self.assertEqual((tree.root(), tree.leaf_count(), tree.latest_version), (root, 2, 0))

    def test_bad_genesis_batch(self):
        """A refused genesis batch leaves the tree empty, ready for a good one."""
        tree = MerkleTree(MemoryTreeStore())
        k = b"\x01" * 32
        self.assertRaises(TreeError, tree.apply, 0, [(k, k), (k, k)])
        self.assertIsNone(tree.latest_version)
        self.assertEqual(tree.apply(0, []).leaf_count, 2)
