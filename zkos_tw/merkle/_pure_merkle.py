"""Pure-Python twin of ``ext/_merkle.pyx``: the tree's inner loops.

* ``hash_leaves`` / ``hash_level`` rehash the touched nodes of one level per call. A level is a
  ``bytearray`` of 32-byte hashes, node ``i`` at ``[32 * i, 32 * i + 32)``, padded to an even
  count so the children of parent ``p`` are the 64 bytes at ``64 * p``; leaves are the 72-byte
  preimages, leaf ``i`` at ``72 * i``. Indices are sorted ascending.
* ``leaf_records`` / ``node_records`` build the versioned records of the touched leaves and
  nodes in format 1 (``zkos_tw.merkle.codec``).
* ``KeyIndex`` maps tree keys to leaf indices in key order (lookups and predecessors).
"""

from __future__ import annotations

import struct
from hashlib import blake2s as _blake2s

from zkos_tw.hashing import blake2s256_pairs
from zkos_tw.merkle.sorted_keys import KeyIndex

_LEAF_KEY = struct.Struct(">cQQ").pack
_NODE_KEY = struct.Struct(">cBQQ").pack


def hash_leaves(leaves: bytearray, level0: bytearray, indices: list[int]) -> None:
    """Write ``blake2s(leaf i)`` into ``level0`` for each index."""
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


def leaf_records(leaves: bytearray, indices: list[int], version: int) -> list[tuple[bytes, bytes]]:
    """``(b"L" || u64be i || u64be version, 0x01 || leaf i)`` for each index."""
    return [(_LEAF_KEY(b"L", i, version), b"\x01" + leaves[72 * i : 72 * i + 72]) for i in indices]


def node_records(
    level: bytearray, depth: int, indices: list[int], version: int
) -> list[tuple[bytes, bytes]]:
    """``(b"N" || u8 depth || u64be i || u64be version, 0x01 || hash i)`` for each index."""
    return [
        (_NODE_KEY(b"N", depth, i, version), b"\x01" + level[32 * i : 32 * i + 32]) for i in indices
    ]


_GUARDS = (bytes(32), b"\xff" * 32)


def stage_writes(
    leaves: bytearray, keys: KeyIndex, writes: list[tuple[bytes, bytes]]
) -> tuple[list[bytes], list[int]]:
    """Validate a batch, then write it: existing keys get their value replaced in ``leaves``,
    new keys are appended (``next`` 0 until linked) in batch order at ``len(leaves) // 72``,
    ``+ 1``, ... (not yet entered in ``keys``). Returns ``(new keys in batch order, indices of
    updated existing leaves)``. Raises ``ValueError`` (and changes nothing) for non-32-byte
    keys or values, guard keys or a key given twice."""
    seen = set()
    for key, value in writes:
        if type(key) is not bytes or type(value) is not bytes or len(key) != 32 or len(value) != 32:
            raise ValueError("tree keys and values are 32 bytes")
        if key in _GUARDS:
            raise ValueError(f"key 0x{key.hex()} is reserved for a guard leaf")
        seen.add(key)
    if len(seen) != len(writes):
        raise ValueError("a key appears twice in one batch of tree writes")
    new_keys, updated = [], []
    for key, value in writes:
        i = keys.get(key)
        if i is None:
            leaves += key + value + bytes(8)
            new_keys.append(key)
        else:
            leaves[72 * i + 32 : 72 * i + 64] = value
            updated.append(i)
    return new_keys, updated


def key_index_records(first: int, new_keys: list[bytes]) -> list[tuple[bytes, bytes]]:
    """``(b"K" || key, 0x01 || u64be index)`` for new keys numbered from ``first``."""
    return [
        (b"K" + key, b"\x01" + (first + j).to_bytes(8, "big")) for j, key in enumerate(new_keys)
    ]


def link_new_keys(
    keys: KeyIndex, leaves: bytearray, first: int, new_keys: list[bytes]
) -> list[int]:
    """Thread the new keys (leaves ``first``, ``first + 1``, ... in batch order, not yet in
    ``keys``) into the linked list: after sorting, each run of new keys sharing an old
    predecessor ``p`` becomes ``p -> k1 -> ... -> kn -> old next of p``. Enter them in
    ``keys``; return the indices of the old leaves whose ``next`` changed."""
    new_index = {key: first + j for j, key in enumerate(new_keys)}
    ordered = sorted(new_keys)
    preds = [keys.lower(k)[1] for k in ordered]
    changed = []
    i, n = 0, len(ordered)
    while i < n:
        p = preds[i]
        j = i
        while j + 1 < n and preds[j + 1] == p:
            j += 1
        po = 72 * p + 64
        old_next = leaves[po : po + 8]
        leaves[po : po + 8] = new_index[ordered[i]].to_bytes(8, "little")
        changed.append(p)
        for t in range(i, j):
            o = 72 * new_index[ordered[t]] + 64
            leaves[o : o + 8] = new_index[ordered[t + 1]].to_bytes(8, "little")
        o = 72 * new_index[ordered[j]] + 64
        leaves[o : o + 8] = old_next
        i = j + 1
    for key in ordered:
        keys.add(key, new_index[key])
    return changed


__all__ = [
    "KeyIndex",
    "hash_leaves",
    "hash_level",
    "key_index_records",
    "leaf_records",
    "link_new_keys",
    "node_records",
    "stage_writes",
]
