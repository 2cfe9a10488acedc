# cython: language_level=3
"""Compiled twin of ``zkos_tw/merkle/_pure_levels.py``: hash the touched nodes of one tree level.

Loaded through ``zkos_tw.extensions``; never import this module directly. Levels are
``bytearray`` objects of 32-byte hashes (node ``i`` at ``32 * i``), even-padded so the children
of parent ``p`` are the 64 bytes at ``64 * p``; leaves are 72-byte preimages.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from libc.stdint cimport uint8_t


cdef extern from "zkos_hash.h" nogil:
    void zk_blake2s256(const uint8_t *data, size_t length, uint8_t *out)


def hash_leaves(bytearray leaves not None, bytearray level0 not None, list indices not None):
    """Write ``blake2s(leaf i)`` into ``level0`` for each index."""
    cdef uint8_t *lp = <uint8_t *>PyByteArray_AS_STRING(leaves)
    cdef uint8_t *op = <uint8_t *>PyByteArray_AS_STRING(level0)
    cdef Py_ssize_t nl = PyByteArray_GET_SIZE(leaves) // 72
    cdef Py_ssize_t no = PyByteArray_GET_SIZE(level0) // 32
    cdef Py_ssize_t i
    for obj in indices:
        i = obj
        if i < 0 or i >= nl or i >= no:
            raise IndexError(f"leaf {i} out of range")
        zk_blake2s256(lp + 72 * i, 72, op + 32 * i)


def hash_level(bytearray child not None, bytearray parent not None, list indices not None):
    """Rehash the parents of the sorted child ``indices``; return the sorted parent indices."""
    cdef uint8_t *cp = <uint8_t *>PyByteArray_AS_STRING(child)
    cdef uint8_t *pp = <uint8_t *>PyByteArray_AS_STRING(parent)
    cdef Py_ssize_t npairs = PyByteArray_GET_SIZE(child) // 64
    cdef Py_ssize_t nparent = PyByteArray_GET_SIZE(parent) // 32
    cdef Py_ssize_t p, last = -1
    cdef list parents = []
    for obj in indices:
        p = (<Py_ssize_t>obj) >> 1
        if p == last:
            continue
        if p < 0 or p >= npairs or p >= nparent:
            raise IndexError(f"parent {p} out of range")
        zk_blake2s256(cp + 64 * p, 64, pp + 32 * p)
        parents.append(p)
        last = p
    return parents
