# cython: language_level=3
"""Compiled keccak-256 and BLAKE2s-256 helpers; the twin of ``zkos_tw/hashing/_pure.py``.

Loaded through ``zkos_tw.extensions``; never import this module directly.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport uint8_t


cdef extern from "zkos_hash.h" nogil:
    void zk_keccak256(const uint8_t *data, size_t length, uint8_t *out)
    void zk_blake2s256(const uint8_t *data, size_t length, uint8_t *out)


def keccak256(const uint8_t[::1] data not None):
    """keccak-256 of ``data`` (Ethereum's hash, not NIST SHA3-256)."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 32)
    cdef size_t n = data.shape[0]
    cdef const uint8_t *p = &data[0] if n else <const uint8_t *>b""
    zk_keccak256(p, n, <uint8_t *>PyBytes_AS_STRING(out))
    return out


def blake2s256(const uint8_t[::1] data not None):
    """BLAKE2s with a 32-byte digest and no key."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 32)
    cdef size_t n = data.shape[0]
    cdef const uint8_t *p = &data[0] if n else <const uint8_t *>b""
    zk_blake2s256(p, n, <uint8_t *>PyBytes_AS_STRING(out))
    return out


def blake2s256_pairs(const uint8_t[::1] data not None):
    """Hash each 64-byte chunk of ``data`` (a left||right node pair); return the digests joined.

    One call hashes a whole tree level, so the per-call cost is paid once per level.
    """
    cdef size_t n = data.shape[0]
    if n % 64:
        raise ValueError(f"blake2s256_pairs needs a multiple of 64 bytes, got {n}")
    cdef size_t count = n // 64
    cdef bytes out = PyBytes_FromStringAndSize(NULL, count * 32)
    cdef uint8_t *o = <uint8_t *>PyBytes_AS_STRING(out)
    cdef size_t i
    if count == 0:
        return out
    cdef const uint8_t *p = &data[0]
    with nogil:
        for i in range(count):
            zk_blake2s256(p + 64 * i, 64, o + 32 * i)
    return out
