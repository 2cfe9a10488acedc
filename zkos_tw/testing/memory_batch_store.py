"""``MemoryBatchStore``: ``IBatchStore`` in a list, for unit tests and development nodes."""

from __future__ import annotations

from bisect import bisect_left

from zope.interface import implementer

from zkos_tw.batcher.batch_store import BatchStoreError, check_successor
from zkos_tw.batcher.info import BatchMetadata
from zkos_tw.interfaces import IBatchStore


@implementer(IBatchStore)
class MemoryBatchStore:
    """Batches in number order, with the same gapless rules as ``LMDBBatchStore``."""

    def __init__(self) -> None:
        self._batches: list[BatchMetadata] = []

    def put(self, meta: BatchMetadata) -> None:
        """Store ``meta``; identical again is a no-op, a gap or a change raises."""
        existing = self.batch(meta.number)
        if existing is not None:
            if existing != meta:
                raise BatchStoreError(f"batch {meta.number} is already stored, differently")
            return
        check_successor(self.last_batch(), meta)
        self._batches.append(meta)

    def batch(self, number: int) -> BatchMetadata | None:
        """The stored batch ``number``, or ``None``."""
        if not self._batches:
            return None
        index = number - self._batches[0].number
        return self._batches[index] if 0 <= index < len(self._batches) else None

    def last_batch(self) -> BatchMetadata | None:
        """The highest stored batch, or ``None``."""
        return self._batches[-1] if self._batches else None

    def batch_for_block(self, block_number: int) -> int | None:
        """The number of the stored batch holding ``block_number``, or ``None``."""
        lasts = [b.last_block_number for b in self._batches]
        i = bisect_left(lasts, block_number)
        if i < len(lasts) and self._batches[i].first_block_number <= block_number:
            return self._batches[i].number
        return None

    def close(self) -> None:
        """Nothing to release."""
