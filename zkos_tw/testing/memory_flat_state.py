"""In-memory flat state and preimage store (``IStateReader``, ``IPreimages``) for tests and dev.

``MemoryFlatState`` keeps every block's writes so ``at(n)`` gives the state right after block
``n``; ``MemoryPreimages`` is a dict checked against the blake2s hash.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from zope.interface import implementer

from zkos_tw.hashing import blake2s256
from zkos_tw.interfaces import IPreimages, IStateReader


@implementer(IStateReader)
class MemoryStateAt:
    """The state of a ``MemoryFlatState`` right after one block."""

    def __init__(self, owner: MemoryFlatState, block_number: int) -> None:
        self._owner = owner
        self.block_number = block_number

    def read(self, key: bytes) -> bytes | None:
        """The newest value written under ``key`` at or before the block, or ``None``."""
        history = self._owner._history.get(bytes(key))
        if not history:
            return None
        at = bisect_right(history[0], self.block_number)
        return history[1][at - 1] if at else None


@implementer(IStateReader)
class MemoryFlatState:
    """A versioned flat key/value state; ``read`` answers at the newest block."""

    def __init__(self) -> None:
        self._history: dict[bytes, tuple[list[int], list[bytes]]] = {}
        self.last_block: int | None = None

    def write_block(self, block_number: int, writes: Iterable[tuple[bytes, bytes]]) -> None:
        """Record the ``(key, value)`` writes of ``block_number`` (blocks in increasing order)."""
        if self.last_block is not None and block_number <= self.last_block:
            raise ValueError(f"block {block_number} written after {self.last_block}")
        for key, value in writes:
            if len(key) != 32 or len(value) != 32:
                raise ValueError("state keys and values are 32 bytes")
            numbers, values = self._history.setdefault(bytes(key), ([], []))
            numbers.append(block_number)
            values.append(bytes(value))
        self.last_block = block_number

    def at(self, block_number: int) -> MemoryStateAt:
        """A reader fixed at the state right after ``block_number``."""
        return MemoryStateAt(self, block_number)

    def read(self, key: bytes) -> bytes | None:
        """The newest value of ``key``, or ``None``."""
        history = self._history.get(bytes(key))
        return history[1][-1] if history else None


@implementer(IPreimages)
class MemoryPreimages:
    """Preimages in a dict; ``add`` checks that the hash matches."""

    def __init__(self, items: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self._data: dict[bytes, bytes] = {}
        self.update(items)

    def add(self, hash_: bytes, data: bytes) -> None:
        """Store ``data`` under its blake2s ``hash_`` (``ValueError`` if it does not match)."""
        if blake2s256(data) != hash_:
            raise ValueError(f"preimage does not hash to 0x{bytes(hash_).hex()}")
        self._data[bytes(hash_)] = bytes(data)

    def update(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Add many ``(hash, data)`` pairs."""
        for hash_, data in items:
            self.add(hash_, data)

    def get(self, hash_: bytes) -> bytes | None:
        """The preimage of ``hash_``, or ``None``."""
        return self._data.get(bytes(hash_))

    def __len__(self) -> int:
        return len(self._data)
