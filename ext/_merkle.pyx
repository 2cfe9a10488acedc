# cython: language_level=3
"""Compiled twin of ``zkos_tw/merkle/_pure_merkle.py``: the state tree's inner loops.

Loaded through ``zkos_tw.extensions``; never import this module directly. Levels are
``bytearray`` objects of 32-byte hashes (node ``i`` at ``32 * i``), even-padded so the children
of parent ``p`` are the 64 bytes at ``64 * p``; leaves are 72-byte preimages. ``SortedKeys``
keeps 32-byte keys in buckets of contiguous memory (one ``bytearray`` per bucket), so finding a
predecessor is a ``memcmp`` binary search over a few cache lines.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcmp, memcpy


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


cdef inline void _put_u64be(uint8_t *out, uint64_t v):
    cdef int k
    for k in range(7, -1, -1):
        out[k] = <uint8_t>(v & 0xFF)
        v >>= 8


cdef list _records(const uint8_t *src, Py_ssize_t count, Py_ssize_t width, list indices,
                   bytes prefix, uint64_t version):
    cdef Py_ssize_t plen = PyBytes_GET_SIZE(prefix)
    cdef list out = []
    cdef Py_ssize_t i
    cdef bytes key, value
    cdef uint8_t *kp
    cdef uint8_t *vp
    for obj in indices:
        i = obj
        if i < 0 or i >= count:
            raise IndexError(f"record {i} out of range")
        key = PyBytes_FromStringAndSize(NULL, plen + 16)
        kp = <uint8_t *>PyBytes_AS_STRING(key)
        memcpy(kp, PyBytes_AS_STRING(prefix), plen)
        _put_u64be(kp + plen, <uint64_t>i)
        _put_u64be(kp + plen + 8, version)
        value = PyBytes_FromStringAndSize(NULL, 1 + width)
        vp = <uint8_t *>PyBytes_AS_STRING(value)
        vp[0] = 1
        memcpy(vp + 1, src + width * i, width)
        out.append((key, value))
    return out


def leaf_records(bytearray leaves not None, list indices not None, uint64_t version):
    """``(b"L" || u64be i || u64be version, 0x01 || leaf i)`` for each index."""
    return _records(<uint8_t *>PyByteArray_AS_STRING(leaves), PyByteArray_GET_SIZE(leaves) // 72,
                    72, indices, b"L", version)


def node_records(bytearray level not None, int depth, list indices not None, uint64_t version):
    """``(b"N" || u8 depth || u64be i || u64be version, 0x01 || hash i)`` for each index."""
    if not 0 <= depth < 256:
        raise ValueError("depth is a byte")
    return _records(<uint8_t *>PyByteArray_AS_STRING(level), PyByteArray_GET_SIZE(level) // 32,
                    32, indices, b"N" + bytes([depth]), version)


cdef bytes _MIN_KEY = bytes(32)
cdef bytes _MAX_KEY = b"\xff" * 32


def stage_writes(bytearray leaves not None, KeyIndex keys not None, list writes not None):
    """Validate a batch, then write it (see the pure twin); return ``(new keys, updated)``."""
    cdef set seen = set()
    for pair in writes:
        key, value = pair
        if type(key) is not bytes or type(value) is not bytes or len(key) != 32 or len(value) != 32:
            raise ValueError("tree keys and values are 32 bytes")
        if key == _MIN_KEY or key == _MAX_KEY:
            raise ValueError(f"key 0x{key.hex()} is reserved for a guard leaf")
        seen.add(key)
    if len(seen) != len(writes):
        raise ValueError("a key appears twice in one batch of tree writes")
    cdef Py_ssize_t count = PyByteArray_GET_SIZE(leaves) // 72, i, j, first
    cdef list new_pairs = []
    cdef list new_keys = []
    cdef list updated = []
    cdef uint8_t *lp = <uint8_t *>PyByteArray_AS_STRING(leaves)
    cdef bint found
    cdef uint64_t u
    for pair in writes:
        key, value = pair
        u = keys._get(<const uint8_t *>PyBytes_AS_STRING(key), &found)
        if not found:
            new_pairs.append(pair)
        else:
            if u >= <uint64_t>count:
                raise IndexError("leaf out of range")
            i = <Py_ssize_t>u
            if i >= count:
                raise IndexError("leaf out of range")
            memcpy(lp + 72 * i + 32, PyBytes_AS_STRING(value), 32)
            updated.append(i)
    first = count
    if new_pairs:
        leaves.extend(bytes(72 * len(new_pairs)))
        lp = <uint8_t *>PyByteArray_AS_STRING(leaves)
        for j, pair in enumerate(new_pairs):
            key, value = pair
            memcpy(lp + 72 * (first + j), PyBytes_AS_STRING(key), 32)
            memcpy(lp + 72 * (first + j) + 32, PyBytes_AS_STRING(value), 32)
            new_keys.append(key)
    return new_keys, updated


def key_index_records(uint64_t first, list new_keys not None):
    """``(b"K" || key, 0x01 || u64be index)`` for new keys numbered from ``first``."""
    cdef list out = []
    cdef bytes value
    cdef uint8_t *vp
    cdef uint64_t j = 0
    for key in new_keys:
        value = PyBytes_FromStringAndSize(NULL, 9)
        vp = <uint8_t *>PyBytes_AS_STRING(value)
        vp[0] = 1
        _put_u64be(vp + 1, first + j)
        out.append((b"K" + key, value))
        j += 1
    return out


cdef inline void _put_u64le(uint8_t *out, uint64_t v):
    cdef int k
    for k in range(8):
        out[k] = <uint8_t>(v & 0xFF)
        v >>= 8


def link_new_keys(KeyIndex keys not None, bytearray leaves not None, Py_ssize_t first,
                  list new_keys not None):
    """Thread the new keys into the linked list (see the pure twin); return the indices of
    the old leaves whose ``next`` changed."""
    cdef dict new_index = {key: first + j for j, key in enumerate(new_keys)}
    cdef list ordered = sorted(new_keys)
    cdef Py_ssize_t n = len(ordered), i = 0, j, t, count = PyByteArray_GET_SIZE(leaves) // 72
    cdef list preds = []
    cdef Py_ssize_t p, a, b
    cdef bint found
    cdef uint64_t u
    for key in ordered:
        u = keys._lower(<const uint8_t *>PyBytes_AS_STRING(key), &found)
        if not found:
            raise ValueError("a new key has no predecessor (guards missing)")
        if u >= <uint64_t>count:
            raise IndexError("leaf out of range")
        preds.append(<Py_ssize_t>u)
    cdef list changed = []
    cdef uint8_t old_next[8]
    cdef uint8_t *lp = <uint8_t *>PyByteArray_AS_STRING(leaves)
    while i < n:
        p = preds[i]
        j = i
        while j + 1 < n and <Py_ssize_t>preds[j + 1] == p:
            j += 1
        a = new_index[ordered[i]]
        if p < 0 or p >= count or a >= count:
            raise IndexError("leaf out of range")
        memcpy(old_next, lp + 72 * p + 64, 8)
        _put_u64le(lp + 72 * p + 64, <uint64_t>a)
        changed.append(p)
        for t in range(i, j):
            a = new_index[ordered[t]]
            b = new_index[ordered[t + 1]]
            if a >= count or b >= count:
                raise IndexError("leaf out of range")
            _put_u64le(lp + 72 * a + 64, <uint64_t>b)
        a = new_index[ordered[j]]
        if a >= count:
            raise IndexError("leaf out of range")
        memcpy(lp + 72 * a + 64, old_next, 8)
        i = j + 1
    for key in ordered:
        keys.add(key, new_index[key])
    return changed


cdef enum:
    MAX_FILL = 16  # keys per bucket on average before the bucket count grows 4x
    MIN_BITS = 4
    MAX_BITS = 20
    RECORD = 40  # key(32) || u64le index


cdef inline uint64_t _get_u64le(const uint8_t *p):
    cdef uint64_t v = 0
    cdef int k
    for k in range(7, -1, -1):
        v = (v << 8) | p[k]
    return v


cdef bytes _key32(key):
    if type(key) is not bytes or PyBytes_GET_SIZE(key) != 32:
        raise ValueError("KeyIndex holds 32-byte keys")
    return key


cdef class KeyIndex:
    """Tree key -> leaf index in key order (same behaviour as the pure ``KeyIndex``).

    Each bucket is one ``bytearray`` of sorted 40-byte records ``key || u64le index``.
    """

    cdef list _buckets
    cdef int _bits
    cdef int _shift
    cdef Py_ssize_t _len
    cdef const uint8_t *_last  # key of the last ``_lower`` answer (valid until a mutation)

    def __init__(self, pairs=()):
        cdef list items = sorted(dict(pairs).items())
        for key, index in items:
            if type(key) is not bytes or len(key) != 32:
                raise ValueError("KeyIndex holds 32-byte keys")
            if not 0 <= index < 2**64:
                raise ValueError("leaf indices are u64")
        self._len = len(items)
        self._bits = MIN_BITS
        while self._bits < MAX_BITS and self._len > (MAX_FILL << self._bits):
            self._bits += 2
        self._fill(items)

    cdef _fill(self, list items):
        self._shift = 24 - self._bits
        cdef list parts = [[] for _ in range(1 << self._bits)]
        for key, index in items:
            parts[self._bucket_of(<const uint8_t *>PyBytes_AS_STRING(key))].append(
                key + (<uint64_t>index).to_bytes(8, "little"))
        self._buckets = [bytearray(b"".join(p)) for p in parts]

    cdef inline Py_ssize_t _bucket_of(self, const uint8_t *k):
        return ((<Py_ssize_t>k[0] << 16) | (<Py_ssize_t>k[1] << 8) | k[2]) >> self._shift

    cdef inline Py_ssize_t _search(self, bytearray bucket, const uint8_t *k, bint *found):
        # first record position whose key is >= k
        cdef const uint8_t *base = <const uint8_t *>PyByteArray_AS_STRING(bucket)
        cdef Py_ssize_t n = PyByteArray_GET_SIZE(bucket) // RECORD
        cdef Py_ssize_t lo = 0, hi = n, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if memcmp(base + RECORD * mid, k, 32) < 0:
                lo = mid + 1
            else:
                hi = mid
        found[0] = lo < n and memcmp(base + RECORD * lo, k, 32) == 0
        return lo

    cdef uint64_t _get(self, const uint8_t *k, bint *found):
        cdef bytearray bucket = self._buckets[self._bucket_of(k)]
        cdef Py_ssize_t pos = self._search(bucket, k, found)
        if not found[0]:
            return 0
        return _get_u64le(<const uint8_t *>PyByteArray_AS_STRING(bucket) + RECORD * pos + 32)

    cdef uint64_t _lower(self, const uint8_t *k, bint *found):
        # index of the greatest key strictly below k; found[0] False when there is none
        cdef Py_ssize_t b = self._bucket_of(k)
        cdef bytearray bucket = self._buckets[b]
        cdef bint exact
        cdef Py_ssize_t pos = self._search(bucket, k, &exact)
        cdef const uint8_t *base
        while True:
            if pos:
                base = <const uint8_t *>PyByteArray_AS_STRING(bucket)
                found[0] = True
                self._last = base + RECORD * (pos - 1)
                return _get_u64le(base + RECORD * (pos - 1) + 32)
            if b == 0:
                found[0] = False
                return 0
            b -= 1
            bucket = self._buckets[b]
            pos = PyByteArray_GET_SIZE(bucket) // RECORD

    def __len__(self):
        return self._len

    def __iter__(self):
        for key, _ in self.items():
            yield key

    def items(self):
        """``(key, index)`` in key order."""
        cdef bytearray bucket
        cdef Py_ssize_t j
        cdef const uint8_t *base
        for bucket in self._buckets:
            for j in range(PyByteArray_GET_SIZE(bucket) // RECORD):
                base = <const uint8_t *>PyByteArray_AS_STRING(bucket) + RECORD * j
                yield (PyBytes_FromStringAndSize(<const char *>base, 32), _get_u64le(base + 32))

    def __contains__(self, key):
        if type(key) is not bytes or PyBytes_GET_SIZE(key) != 32:
            return False
        cdef bint found
        self._get(<const uint8_t *>PyBytes_AS_STRING(key), &found)
        return found

    def get(self, key):
        """The leaf index of ``key``, or ``None``."""
        cdef bytes k = _key32(key)
        cdef bint found
        cdef uint64_t i = self._get(<const uint8_t *>PyBytes_AS_STRING(k), &found)
        return i if found else None

    def lower(self, key):
        """``(key, index)`` of the greatest key strictly below ``key``, or ``None``."""
        cdef bytes k = _key32(key)
        cdef bint found
        cdef uint64_t i = self._lower(<const uint8_t *>PyBytes_AS_STRING(k), &found)
        if not found:
            return None
        return PyBytes_FromStringAndSize(<const char *>self._last, 32), i

    def add(self, key, index):
        """Map ``key`` to ``index`` (replacing an existing mapping)."""
        cdef bytes k = _key32(key)
        if not 0 <= index < 2**64:
            raise ValueError("leaf indices are u64")
        cdef const uint8_t *kp = <const uint8_t *>PyBytes_AS_STRING(k)
        cdef bint found
        cdef bytearray bucket = self._buckets[self._bucket_of(kp)]
        cdef Py_ssize_t pos = self._search(bucket, kp, &found)
        cdef bytes record = k + (<uint64_t>index).to_bytes(8, "little")
        if found:
            bucket[RECORD * pos : RECORD * pos + RECORD] = record
            return
        bucket[RECORD * pos : RECORD * pos] = record
        self._len += 1
        if self._bits < MAX_BITS and self._len > (MAX_FILL << self._bits):
            self._bits += 2
            self._fill(list(self.items()))

    def memory_bytes(self):
        """Bytes of the buckets, records included."""
        import sys

        return sys.getsizeof(self._buckets) + sum([sys.getsizeof(b) for b in self._buckets])
