"""``MemoryTreeStore``: ``ITreeStore`` in a sorted in-memory map, for tests and development.

Patches from ``MerkleTree.apply`` are stored with ``write_patch`` (all records at once).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator

from zope.interface import implementer

from zkos_tw.interfaces import ITreeStore


@implementer(ITreeStore)
class MemoryTreeStore:
    """The tree's records in a dict plus a sorted key list (inserts are O(n): small trees)."""

    def __init__(self) -> None:
        self._values: dict[bytes, bytes] = {}
        self._keys: list[bytes] = []

    def write_patch(self, records: Iterable[tuple[bytes, bytes]]) -> None:
        """Store every ``(key, value)`` record, replacing existing keys."""
        for key, value in records:
            key, value = bytes(key), bytes(value)
            if key not in self._values:
                insort(self._keys, key)
            self._values[key] = value

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or ``None``."""
        return self._values.get(bytes(key))

    def get_versioned(self, prefix: bytes, version: int) -> bytes | None:
        """The newest record ``prefix || u64be(v)`` with ``v <= version``, or ``None``."""
        prefix = bytes(prefix)
        at = bisect_right(self._keys, prefix + version.to_bytes(8, "big"))
        while at:
            key = self._keys[at - 1]
            if not key.startswith(prefix):
                return None
            if len(key) == len(prefix) + 8:
                return self._values[key]
            at -= 1
        return None

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` for keys starting with ``prefix``, ascending."""
        prefix = bytes(prefix)
        at = bisect_left(self._keys, prefix)
        keys = self._keys
        while at < len(keys) and keys[at].startswith(prefix):
            yield keys[at], self._values[keys[at]]
            at += 1

    def __len__(self) -> int:
        return len(self._values)

    @property
    def size(self) -> int:
        """Bytes of keys and values held."""
        return sum(len(k) + len(v) for k, v in self._values.items())
