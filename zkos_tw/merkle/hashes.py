"""Leaf and node hashing of the state tree, the empty-subtree hashes and the guard leaves.

``hash_leaf = blake2s(key || value || u64le(next_index))`` (the one little-endian integer in the
commitment scheme), ``hash_node = blake2s(left || right)``; ``E[0]`` is the hash of the all-zero
leaf and ``E[d + 1] = blake2s(E[d] || E[d])`` (reference ``zksync-os-state.md`` §4.2).
"""

from __future__ import annotations

from zkos_tw.hashing import blake2s256

DEPTH = 64
LEAF_SIZE = 72
ZERO32 = bytes(32)
MIN_KEY = ZERO32
MAX_KEY = b"\xff" * 32
MIN_GUARD_INDEX = 0
MAX_GUARD_INDEX = 1
GUARD_COUNT = 2


def leaf_bytes(key: bytes, value: bytes, next_index: int) -> bytes:
    """The 72-byte leaf preimage ``key || value || u64le(next_index)``."""
    return key + value + next_index.to_bytes(8, "little")


def hash_leaf(key: bytes, value: bytes, next_index: int) -> bytes:
    """The hash of one leaf."""
    return blake2s256(leaf_bytes(key, value, next_index))


def hash_node(left: bytes, right: bytes) -> bytes:
    """The hash of an internal node from its two children."""
    return blake2s256(left + right)


def _empty_hashes() -> tuple[bytes, ...]:
    hashes = [blake2s256(bytes(LEAF_SIZE))]
    for _ in range(DEPTH):
        hashes.append(hash_node(hashes[-1], hashes[-1]))
    return tuple(hashes)


#: ``EMPTY[d]`` = the hash of a depth-``d`` subtree of unused leaf slots; ``EMPTY[64]`` a root.
EMPTY: tuple[bytes, ...] = _empty_hashes()
