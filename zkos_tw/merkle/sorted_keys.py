"""Pure ordered key structures of the tree: ``SortedKeys`` and ``KeyIndex`` (key -> leaf index).

``KeyIndex`` is the pure twin of the compiled one in ``ext/_merkle.pyx`` (a ``dict`` for lookups
plus a ``SortedKeys`` for predecessors).

The tree needs, for every new key, its predecessor among the keys already present. Keys are
spread over ``2**bits`` buckets by their leading bits (flat keys are blake2s outputs, so they
spread evenly); each bucket is a short sorted ``list``. A query bisects one short list instead of
a million-entry one, which matters because every comparison is a cache miss. ``bits`` grows with
the set so buckets average at most ``MAX_FILL`` keys. Skewed keys only make some buckets longer
(a ``list.insert`` per key), never wrong.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

MAX_FILL = 16
MIN_BITS = 4
MAX_BITS = 20


class SortedKeys:
    """Sorted, duplicate-free collection of ``bytes`` (at least 3 bytes long)."""

    __slots__ = ("_buckets", "_shift", "_bits", "_len")

    def __init__(self, keys: Iterable[bytes] = ()) -> None:
        ordered = sorted(set(keys))
        self._len = len(ordered)
        self._bits = MIN_BITS
        while self._bits < MAX_BITS and self._len > MAX_FILL << self._bits:
            self._bits += 2
        self._fill(ordered)

    def _fill(self, ordered: list[bytes]) -> None:
        self._shift = 24 - self._bits
        buckets: list[list[bytes]] = [[] for _ in range(1 << self._bits)]
        shift = self._shift
        for key in ordered:
            buckets[int.from_bytes(key[:3], "big") >> shift].append(key)
        self._buckets = buckets

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[bytes]:
        for bucket in self._buckets:
            yield from bucket

    def __contains__(self, key: bytes) -> bool:
        bucket = self._buckets[int.from_bytes(key[:3], "big") >> self._shift]
        pos = bisect_left(bucket, key)
        return pos < len(bucket) and bucket[pos] == key

    def lower(self, key: bytes) -> bytes | None:
        """The greatest element strictly below ``key``, or ``None``."""
        b = int.from_bytes(key[:3], "big") >> self._shift
        buckets = self._buckets
        bucket = buckets[b]
        pos = bisect_left(bucket, key)
        if pos:
            return bucket[pos - 1]
        while b:
            b -= 1
            if buckets[b]:
                return buckets[b][-1]
        return None

    def add(self, key: bytes) -> None:
        """Insert ``key`` (no effect if present)."""
        bucket = self._buckets[int.from_bytes(key[:3], "big") >> self._shift]
        pos = bisect_left(bucket, key)
        if pos < len(bucket) and bucket[pos] == key:
            return
        bucket.insert(pos, key)
        self._len += 1
        if self._bits < MAX_BITS and self._len > MAX_FILL << self._bits:
            self._bits += 2
            self._fill(list(self))

    def memory_bytes(self) -> int:
        """Bytes of the bucket lists (the key objects themselves are not counted)."""
        import sys

        return sys.getsizeof(self._buckets) + sum(sys.getsizeof(b) for b in self._buckets)

    def update(self, keys: Iterable[bytes]) -> None:
        """Insert many keys."""
        for key in keys:
            self.add(key)


class KeyIndex:
    """Tree key -> leaf index, ordered by key: ``get``, ``lower`` (predecessor with its index),
    ``add``. Pure version: a ``dict`` plus a ``SortedKeys``; the compiled twin in
    ``ext/_merkle.pyx`` keeps ``key || index`` records in contiguous buckets instead."""

    __slots__ = ("_index", "_sorted")

    def __init__(self, pairs: Iterable[tuple[bytes, int]] = ()) -> None:
        self._index = dict(pairs)
        self._sorted = SortedKeys(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._sorted)

    def __contains__(self, key: bytes) -> bool:
        return key in self._index

    def items(self) -> Iterator[tuple[bytes, int]]:
        """``(key, index)`` in key order."""
        index = self._index
        for key in self._sorted:
            yield key, index[key]

    def get(self, key: bytes) -> int | None:
        """The leaf index of ``key``, or ``None``."""
        return self._index.get(key)

    def lower(self, key: bytes) -> tuple[bytes, int] | None:
        """``(key, index)`` of the greatest key strictly below ``key``, or ``None``."""
        found = self._sorted.lower(key)
        return None if found is None else (found, self._index[found])

    def add(self, key: bytes, index: int) -> None:
        """Map ``key`` to ``index`` (replacing an existing mapping)."""
        if key not in self._index:
            self._sorted.add(key)
        self._index[key] = index

    def memory_bytes(self) -> int:
        """Bytes of the dict, its key and int objects and the sorted buckets."""
        import sys

        return (
            sys.getsizeof(self._index)
            + sum(sys.getsizeof(k) + sys.getsizeof(i) for k, i in self._index.items())
            + self._sorted.memory_bytes()
        )
