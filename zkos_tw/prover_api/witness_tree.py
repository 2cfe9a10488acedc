"""The state tree after a block, computed from the block's witness alone (issue #12 item 3).

A worker has no tree: it has the ``BlockInput``'s proofs against the pre-block root. Every
``LeafProof`` fixes the hashes along its path and its siblings, and the rightmost leaf's proof
fixes the path new leaves are appended along (everything right of it is an empty subtree).
``WitnessTree`` keeps those node hashes, applies the block's writes as ``MerkleTree.apply``
does (state.md §4.5: existing keys get the new value, new keys the next free indices in write
order, each run of new keys sharing an old predecessor ``p`` threaded ``p -> k1 -> ... -> old
next of p``) and rehashes up to the root. A write whose key the witness does not prove, or a
node no proof covers, raises ``MissingWitness``.
"""

from __future__ import annotations

from zkos_tw.hashing import blake2s256
from zkos_tw.merkle.hashes import DEPTH, EMPTY, hash_node, leaf_bytes
from zkos_tw.merkle.proofs import LeafProof
from zkos_tw.prover_api.prover_input import BlockInput, MissingWitness


class WitnessTree:
    """The pre-block tree as far as ``block``'s (already verified) witness shows it."""

    def __init__(self, block: BlockInput):
        self._number = block.context.number
        self.leaf_count = block.leaf_count
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._leaves: dict[int, list] = {}  # index -> [key, value, next_index]
        self._index: dict[bytes, int] = {}
        self._prev: dict[bytes, int] = {}  # absent key -> its proven predecessor's index
        self._add(block.rightmost)
        for proof in block.reads:
            if proof.leaf is not None:
                self._add(proof.leaf)
            else:
                self._add(proof.prev)
                self._add(proof.next)
                self._prev[proof.key] = proof.prev.index

    def _add(self, proof: LeafProof) -> None:
        self._leaves[proof.index] = [proof.key, proof.value, proof.next_index]
        self._index[proof.key] = proof.index
        h = blake2s256(leaf_bytes(proof.key, proof.value, proof.next_index))
        index = proof.index
        for level, sibling in enumerate(proof.path):
            self._nodes[(level, index)] = h
            self._nodes[(level, index ^ 1)] = sibling
            h = hash_node(sibling, h) if index & 1 else hash_node(h, sibling)
            index >>= 1
        self._nodes[(DEPTH, 0)] = h

    def _node(self, level: int, index: int, old_count: int) -> bytes:
        found = self._nodes.get((level, index))
        if found is not None:
            return found
        if index << level >= old_count:
            return EMPTY[level]
        raise MissingWitness(
            f"block {self._number}: tree node ({level}, {index}) is not covered by the witness"
        )

    def apply(self, writes) -> tuple[bytes, int]:
        """Apply the block's ``(key, value)`` writes in order; the new ``(root, leaf_count)``."""
        old_count = self.leaf_count
        touched: set[int] = set()
        new_keys: list[bytes] = []
        for key, value in writes:
            key, value = bytes(key), bytes(value)
            index = self._index.get(key)
            if index is not None:
                self._leaves[index][1] = value
            elif key in self._prev:
                index = self.leaf_count
                self.leaf_count += 1
                self._leaves[index] = [key, value, 0]
                self._index[key] = index
                new_keys.append(key)
            else:
                raise MissingWitness(
                    f"block {self._number} writes key 0x{key.hex()}, which is not in the witness"
                )
            touched.add(index)
        ordered = sorted(new_keys)
        i = 0
        while i < len(ordered):
            p = self._prev[ordered[i]]
            j = i
            while j + 1 < len(ordered) and self._prev[ordered[j + 1]] == p:
                j += 1
            old_next = self._leaves[p][2]
            self._leaves[p][2] = self._index[ordered[i]]
            touched.add(p)
            for t in range(i, j):
                self._leaves[self._index[ordered[t]]][2] = self._index[ordered[t + 1]]
            self._leaves[self._index[ordered[j]]][2] = old_next
            i = j + 1
        return self._rehash(sorted(touched), old_count), self.leaf_count

    def _rehash(self, touched: list[int], old_count: int) -> bytes:
        for index in touched:
            key, value, next_index = self._leaves[index]
            self._nodes[(0, index)] = blake2s256(leaf_bytes(key, value, next_index))
        level_indices = sorted(set(touched))
        for level in range(1, DEPTH + 1):
            parents = sorted({i >> 1 for i in level_indices})
            for p in parents:
                left = self._node(level - 1, 2 * p, old_count)
                right = self._node(level - 1, 2 * p + 1, old_count)
                self._nodes[(level, p)] = hash_node(left, right)
            level_indices = parents
        return self._nodes[(DEPTH, 0)]
