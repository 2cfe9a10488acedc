"""Pure-Python twin of ``ext/_merkle.pyx``: hash the touched nodes of one tree level per call.

A level is a ``bytearray`` of 32-byte hashes, node ``i`` at ``[32 * i, 32 * i + 32)``, padded
to an even count so that the children of parent ``p`` are the 64 bytes at ``64 * p``.
"""

from __future__ import annotations

from hashlib import blake2s as _blake2s

from zkos_tw.hashing import blake2s256_pairs


def hash_leaves(leaves: bytearray, level0: bytearray, indices: list[int]) -> None:
    """Write ``blake2s(leaf i)`` (72-byte leaves in ``leaves``) into ``level0`` for each index."""
    for i in indices:
        o = 72 * i
        level0[32 * i : 32 * i + 32] = _blake2s(leaves[o : o + 72]).digest()


def hash_level(child: bytearray, parent: bytearray, indices: list[int]) -> list[int]:
    """Rehash the parents of the sorted child ``indices``; return the sorted parent indices."""
    parents = list(dict.fromkeys([i >> 1 for i in indices]))
    out = blake2s256_pairs(b"".join([child[64 * p : 64 * p + 64] for p in parents]))
    for j, p in enumerate(parents):
        parent[32 * p : 32 * p + 32] = out[32 * j : 32 * j + 32]
    return parents
