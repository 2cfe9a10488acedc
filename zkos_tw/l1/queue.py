"""``PriorityTxQueue``: a bounded, consuming hand-over from the L1 watcher (the reference's
channel of capacity 5, §7.3), for consumers that take each transaction once: the watcher's tests
and tools that follow L1 without a chain. The main node's sequencer uses
``zkos_tw.sequencer.l1_queue.L1TransactionQueue`` instead, which keeps transactions until a
stored block holds them (one that does not fit a block is offered again in the next).

The watcher ``put``s priority transactions in priority-id order; ``put`` returns a Deferred that
fires once the transaction is in the queue, so a full queue (capacity 5, reference §7.3) holds the
watcher back instead of growing memory. The sequencer takes what is ready without waiting
(``take_ready``) when it opens a block, or waits for the next one (``get``).

The queue checks the order itself: ``put`` of an id other than ``next_priority_id`` raises
``ValueError`` — a gap or a duplicate never reaches a block.
"""

from __future__ import annotations

from collections import deque

from twisted.internet import defer
from zope.interface import implementer

from zkos_tw.interfaces import IPriorityTxSink, IPriorityTxSource

DEFAULT_CAPACITY = 5


@implementer(IPriorityTxSink, IPriorityTxSource)
class PriorityTxQueue:
    """A bounded FIFO of ``L1Transaction`` (type 0x7f) starting at ``next_priority_id``."""

    def __init__(self, next_priority_id: int = 0, capacity: int = DEFAULT_CAPACITY):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        #: The priority id the next ``put`` must carry.
        self.next_priority_id = next_priority_id
        self._items: deque = deque()
        self._putters: deque = deque()  # (Deferred, tx) waiting for room
        self._getters: deque = deque()  # Deferreds waiting for an item

    def __len__(self) -> int:
        return len(self._items)

    def put(self, tx) -> defer.Deferred:
        """Queue ``tx``; the Deferred fires (with ``None``) once it is in the queue."""
        if tx.nonce != self.next_priority_id:
            raise ValueError(
                f"priority tx {tx.nonce} out of order: the queue expects {self.next_priority_id}"
            )
        self.next_priority_id += 1
        if self._getters:
            self._getters.popleft().callback(tx)
            return defer.succeed(None)
        if len(self._items) < self.capacity:
            self._items.append(tx)
            return defer.succeed(None)
        waiting = defer.Deferred(self._cancel_put)
        self._putters.append((waiting, tx))
        return waiting

    def _cancel_put(self, waiting) -> None:
        # A watcher that stops while waiting for room: its transaction was not delivered, so
        # the next put (after a restart of the watcher) must carry that id again.
        for entry in list(self._putters):
            if entry[0] is waiting:
                self._putters.remove(entry)
                self.next_priority_id = min(self.next_priority_id, entry[1].nonce)

    def _refill(self) -> None:
        while self._putters and len(self._items) < self.capacity:
            waiting, tx = self._putters.popleft()
            self._items.append(tx)
            waiting.callback(None)

    def take_ready(self, limit: int | None = None) -> list:
        """Up to ``limit`` queued transactions (all if ``None``), oldest first, without waiting."""
        taken = []
        while self._items and (limit is None or len(taken) < limit):
            taken.append(self._items.popleft())
            self._refill()
        return taken

    def peek(self):
        """The oldest queued transaction, or ``None``."""
        return self._items[0] if self._items else None

    def get(self) -> defer.Deferred:
        """A Deferred firing with the next transaction (at once if one is queued)."""
        if self._items:
            tx = self._items.popleft()
            self._refill()
            return defer.succeed(tx)
        waiting = defer.Deferred(lambda d: self._getters.remove(d))
        self._getters.append(waiting)
        return waiting
