"""``MemoryTreeStore``: ``ITreeStore`` in memory, for tests and development nodes.

Patches from ``MerkleTree.apply`` are stored with ``write_patch`` (all records at once). Every
key longer than 8 bytes is also indexed as ``prefix || u64be(version)``, so
``get_versioned`` is a bisect over that prefix's versions; the ordered key list that ``scan``
needs is rebuilt only when a scan follows a write.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator

from zope.interface import implementer

from zkos_tw.interfaces import ITreeStore


@implementer(ITreeStore)
class MemoryTreeStore:
    """The tree's records in dictionaries."""

    def __init__(self) -> None:
        self._values: dict[bytes, bytes] = {}
        # prefix -> ascending versions of the keys ``prefix || u64be(version)``
        self._versions: dict[bytes, list[int]] = {}
        self._ordered: list[bytes] | None = []

    def write_patch(self, records: Iterable[tuple[bytes, bytes]]) -> None:
        """Store every ``(key, value)`` record, replacing existing keys."""
        for key, value in records:
            key, value = bytes(key), bytes(value)
            if key not in self._values and len(key) > 8:
                versions = self._versions.setdefault(key[:-8], [])
                version = int.from_bytes(key[-8:], "big")
                if not versions or versions[-1] < version:
                    versions.append(version)
                else:
                    insort(versions, version)
            self._values[key] = value
        self._ordered = None

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or ``None``."""
        return self._values.get(bytes(key))

    def get_versioned(self, prefix: bytes, version: int) -> bytes | None:
        """The newest record ``prefix || u64be(v)`` with ``v <= version``, or ``None``."""
        prefix = bytes(prefix)
        versions = self._versions.get(prefix)
        if not versions:
            return None
        at = bisect_right(versions, version)
        if not at:
            return None
        return self._values[prefix + versions[at - 1].to_bytes(8, "big")]

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` for keys starting with ``prefix``, ascending."""
        prefix = bytes(prefix)
        if self._ordered is None:
            self._ordered = sorted(self._values)
        keys = self._ordered
        at = bisect_left(keys, prefix)
        while at < len(keys) and keys[at].startswith(prefix):
            yield keys[at], self._values[keys[at]]
            at += 1

    def __len__(self) -> int:
        return len(self._values)

    @property
    def size(self) -> int:
        """Bytes of keys and values held."""
        return sum(len(k) + len(v) for k, v in self._values.items())
