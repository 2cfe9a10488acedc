# cython: language_level=3
"""Compiled keccak-256 and BLAKE2s-256 helpers; the twin of ``zkos_tw/hashing/_pure.py``.

Loaded through ``zkos_tw.extensions``; never import this module directly. ``bytes`` input takes
a direct pointer (no buffer acquisition: most calls hash 32-64 bytes, where that cost dominates);
any other buffer (bytearray, memoryview) goes through a typed memoryview.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t
from libc.string cimport memset


cdef extern from "zkos_hash.h" nogil:
    void zk_keccak256(const uint8_t *data, size_t length, uint8_t *out)
    void zk_blake2s256(const uint8_t *data, size_t length, uint8_t *out)


ctypedef void (*hash_fn)(const uint8_t *, size_t, uint8_t *) noexcept nogil


cdef inline bytes _digest(object data, hash_fn fn):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 32)
    cdef const uint8_t[::1] view
    if type(data) is bytes:
        fn(<const uint8_t *>PyBytes_AS_STRING(data), <size_t>PyBytes_GET_SIZE(data),
           <uint8_t *>PyBytes_AS_STRING(out))
        return out
    view = data
    if view.shape[0] == 0:
        fn(<const uint8_t *>b"", 0, <uint8_t *>PyBytes_AS_STRING(out))
    else:
        fn(&view[0], view.shape[0], <uint8_t *>PyBytes_AS_STRING(out))
    return out


def keccak256(data):
    """keccak-256 of ``data`` (Ethereum's hash, not NIST SHA3-256)."""
    return _digest(data, zk_keccak256)


def blake2s256(data):
    """BLAKE2s with a 32-byte digest and no key."""
    return _digest(data, zk_blake2s256)


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


cdef inline void _bloom_add(uint8_t *bloom, const uint8_t *item, size_t size) noexcept nogil:
    """Set the three bits of ``item`` in a big-endian 2048-bit bloom."""
    cdef uint8_t digest[32]
    cdef unsigned bit
    cdef int i
    zk_keccak256(item, size, digest)
    for i in range(0, 6, 2):
        bit = ((<unsigned>digest[i] << 8) | digest[i + 1]) & 0x7FF
        bloom[255 - (bit >> 3)] |= <uint8_t>(1 << (bit & 7))


cdef inline int _bloom_add_object(uint8_t *bloom, object item, set seen) except -1:
    """Add one address or topic; an item seen before in the same bloom is skipped (its bits
    are set already: a token's address and event signature repeat in every log)."""
    cdef bytes raw = item if type(item) is bytes else bytes(item)
    if raw in seen:
        return 0
    seen.add(raw)
    _bloom_add(bloom, <const uint8_t *>PyBytes_AS_STRING(raw), <size_t>PyBytes_GET_SIZE(raw))
    return 0


def logs_bloom(logs):
    """The 256-byte bloom filter (yellow paper M3:2048) over the addresses and topics of
    ``logs`` (objects with ``address`` and ``topics``)."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 256)
    cdef uint8_t *bloom = <uint8_t *>PyBytes_AS_STRING(out)
    cdef set seen = set()
    memset(bloom, 0, 256)
    for log in logs:
        _bloom_add_object(bloom, log.address, seen)
        for topic in log.topics:
            _bloom_add_object(bloom, topic, seen)
    return out
