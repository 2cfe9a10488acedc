"""An ordered set of byte strings with cheap inserts: sorted buckets of bounded size.

The tree needs, for every new key, its predecessor among the keys already present. A flat sorted
``list`` would move a million pointers per insert; here a key lands in one bucket of at most
``2 * LOAD`` keys, found by bisecting the buckets' maxima.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

LOAD = 512


class SortedKeys:
    """Sorted, duplicate-free collection of ``bytes``."""

    __slots__ = ("_lists", "_maxes", "_len")

    def __init__(self, keys: Iterable[bytes] = ()) -> None:
        ordered = sorted(set(keys))
        self._lists = [ordered[i : i + LOAD] for i in range(0, len(ordered), LOAD)]
        self._maxes = [chunk[-1] for chunk in self._lists]
        self._len = len(ordered)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._lists:
            yield from chunk

    def __contains__(self, key: bytes) -> bool:
        j = bisect_left(self._maxes, key)
        if j == len(self._maxes):
            return False
        chunk = self._lists[j]
        pos = bisect_left(chunk, key)
        return pos < len(chunk) and chunk[pos] == key

    def lower(self, key: bytes) -> bytes | None:
        """The greatest element strictly below ``key``, or ``None``."""
        maxes = self._maxes
        j = bisect_left(maxes, key)
        if j == len(maxes):
            return maxes[-1] if maxes else None
        chunk = self._lists[j]
        pos = bisect_left(chunk, key)
        if pos:
            return chunk[pos - 1]
        return self._lists[j - 1][-1] if j else None

    def higher(self, key: bytes) -> bytes | None:
        """The smallest element strictly above ``key``, or ``None``."""
        maxes = self._maxes
        j = bisect_right(maxes, key)
        if j == len(maxes):
            return None
        chunk = self._lists[j]
        return chunk[bisect_right(chunk, key)]

    def add(self, key: bytes) -> None:
        """Insert ``key`` (no effect if present)."""
        maxes = self._maxes
        if not maxes:
            self._lists.append([key])
            maxes.append(key)
            self._len += 1
            return
        j = bisect_left(maxes, key)
        if j == len(maxes):
            j -= 1
            self._lists[j].append(key)
            maxes[j] = key
        else:
            chunk = self._lists[j]
            pos = bisect_left(chunk, key)
            if pos < len(chunk) and chunk[pos] == key:
                return
            chunk.insert(pos, key)
        self._len += 1
        chunk = self._lists[j]
        if len(chunk) > 2 * LOAD:
            half = chunk[LOAD:]
            del chunk[LOAD:]
            self._lists.insert(j + 1, half)
            maxes[j] = chunk[-1]
            maxes.insert(j + 1, half[-1])

    def update(self, keys: Iterable[bytes]) -> None:
        """Insert many keys."""
        for key in keys:
            self.add(key)


__all__ = ["SortedKeys"]
