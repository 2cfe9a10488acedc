"""Merkle proofs of the state tree: a leaf proof, inclusion / non-inclusion proofs, a verifier.

A ``LeafProof`` is the leaf's index, its ``(key, value, next_index)`` and the 64 sibling hashes
bottom-up (reference ``zksync-os-state.md`` §4.8). A ``KeyProof`` proves a key present (one leaf
proof) or absent (the proofs of its predecessor ``prev`` and of ``prev.next_index``, with
``prev.key < key < next.key``); the linked list makes that airtight.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkos_tw.hashing import blake2s256
from zkos_tw.merkle.hashes import DEPTH, leaf_bytes


class ProofError(ValueError):
    """A proof does not prove what it claims against the given root."""


@dataclass(frozen=True, slots=True)
class LeafProof:
    """One leaf and its authentication path (``path[0]`` is the leaf's sibling)."""

    index: int
    key: bytes
    value: bytes
    next_index: int
    path: tuple[bytes, ...]

    def compute_root(self) -> bytes:
        """Fold the path from the leaf up; the running hash goes left where the index bit is 0."""
        if len(self.path) != DEPTH or not 0 <= self.index < 2**DEPTH:
            raise ProofError(f"a leaf proof has {DEPTH} siblings and a u64 index")
        h = blake2s256(leaf_bytes(self.key, self.value, self.next_index))
        index = self.index
        for sibling in self.path:
            h = blake2s256(sibling + h if index & 1 else h + sibling)
            index >>= 1
        return h


@dataclass(frozen=True, slots=True)
class KeyProof:
    """Proof that ``key`` has a value (``leaf``) or has no leaf (``prev`` and ``next``)."""

    key: bytes
    leaf: LeafProof | None = None
    prev: LeafProof | None = None
    next: LeafProof | None = None

    @property
    def value(self) -> bytes | None:
        """The proven value, or ``None`` for a non-inclusion proof."""
        return self.leaf.value if self.leaf is not None else None


def verify_key_proof(root: bytes, proof: KeyProof) -> bytes | None:
    """Check ``proof`` against ``root``; return the proven value (``None``: proven absent).

    Raises ``ProofError`` when the proof is malformed or does not match ``root``.
    """
    if proof.leaf is not None:
        if proof.prev is not None or proof.next is not None:
            raise ProofError("an inclusion proof carries exactly one leaf")
        if proof.leaf.key != proof.key:
            raise ProofError("the proven leaf holds another key")
        if proof.leaf.compute_root() != root:
            raise ProofError("inclusion proof does not match the root")
        return proof.leaf.value
    prev, nxt = proof.prev, proof.next
    if prev is None or nxt is None:
        raise ProofError("a non-inclusion proof carries the predecessor and successor leaves")
    if prev.next_index != nxt.index:
        raise ProofError("the successor is not the predecessor's next leaf")
    if not prev.key < proof.key < nxt.key:
        raise ProofError("the key is not strictly between its neighbours")
    if prev.compute_root() != root or nxt.compute_root() != root:
        raise ProofError("non-inclusion proof does not match the root")
    return None
