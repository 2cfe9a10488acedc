"""``BoundedQueue``: the hand-over between two stages of the rollup pipeline (reference §1.4).

The reference chains its stages (batcher → prover input → FRI → SNARK → commit → prove → execute)
with bounded channels; a stage that is slow (an L1 that mines slowly, a prover that is late) fills
the channel in front of it, and the stage upstream waits in ``put`` instead of growing memory.

``put`` returns a Deferred that fires once the item is in the queue; ``get`` returns a Deferred
that fires with the oldest item. Both are FIFO among waiters. ``close`` wakes every waiting
``get`` with ``QueueClosed`` (a stopping service uses it so that its loop ends). ``when_nonempty``
lets a consumer that takes items only on demand (the FRI job queue) wait without taking one.
"""

from __future__ import annotations

from collections import deque

from twisted.internet import defer


class QueueClosed(Exception):
    """The queue was closed while a ``get`` or ``put`` waited."""


class BoundedQueue:
    """A FIFO of at most ``capacity`` items whose ``put`` waits for room."""

    def __init__(self, capacity: int, name: str = "queue"):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.name = name
        self.closed = False
        self._items: deque = deque()
        self._putters: deque = deque()  # (Deferred, item) waiting for room
        self._getters: deque = deque()  # Deferreds waiting for an item
        self._watchers: list = []  # Deferreds waiting for the queue to hold an item

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item) -> defer.Deferred:
        """Add ``item``; the Deferred fires (with None) once it is in the queue."""
        if self.closed:
            return defer.fail(QueueClosed(self.name))
        if self._getters:
            self._getters.popleft().callback(item)
            return defer.succeed(None)
        if len(self._items) < self.capacity:
            self._items.append(item)
            self._wake_watchers()
            return defer.succeed(None)
        d = defer.Deferred(lambda d: self._cancel_put(d))
        self._putters.append((d, item))
        return d

    def get(self) -> defer.Deferred:
        """The Deferred fires with the oldest item, now or once one is put."""
        if self._items:
            item = self._items.popleft()
            self._admit_putter()
            return defer.succeed(item)
        if self.closed:
            return defer.fail(QueueClosed(self.name))
        d = defer.Deferred(lambda d: self._getters.remove(d))
        self._getters.append(d)
        return d

    def peek(self):
        """The oldest item without taking it, or None when the queue is empty."""
        return self._items[0] if self._items else None

    def peek_many(self, limit: int) -> list:
        """Up to ``limit`` of the oldest items, oldest first, without taking them."""
        return [item for _, item in zip(range(limit), self._items, strict=False)]

    def when_nonempty(self) -> defer.Deferred:
        """Fires (with None) once the queue holds an item, now or later; takes nothing."""
        if self._items:
            return defer.succeed(None)
        d = defer.Deferred(lambda d: self._watchers.remove(d))
        self._watchers.append(d)
        return d

    def _wake_watchers(self) -> None:
        watchers, self._watchers = self._watchers, []
        for d in watchers:
            d.callback(None)

    def close(self) -> None:
        """Refuse further puts and fail every waiting ``get`` and ``put`` with ``QueueClosed``."""
        self.closed = True
        getters, self._getters = self._getters, deque()
        putters, self._putters = self._putters, deque()
        for d in getters:
            d.errback(QueueClosed(self.name))
        for d, _ in putters:
            d.errback(QueueClosed(self.name))

    def _admit_putter(self) -> None:
        if self._putters:
            d, item = self._putters.popleft()
            self._items.append(item)
            d.callback(None)

    def _cancel_put(self, d: defer.Deferred) -> None:
        self._putters = deque((p, i) for p, i in self._putters if p is not d)
