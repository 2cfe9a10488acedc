"""The best-transactions iterator the sequencer builds a block from (reth's ``BestTransactions``).

A heap holds at most one transaction per sender: the next one of that sender to offer. The heap
key is the effective tip at the block's base fee, ``min(tip, max_fee - base_fee)``, highest first;
ties go to the transaction that arrived first. Taking a transaction puts the same sender's next
pending nonce in its place, so each sender's transactions come out in nonce order. A sender whose
next transaction's fee cap is below the base fee is left out for this block (its later nonces
cannot run before it). The pool ``offer``s transactions that become pending while the iterator is
in use; ``skip_sender`` leaves a sender out for the rest of the block (the VM refused one of its
transactions but it stays in the pool: reference §3.6 "Skip").
"""

from __future__ import annotations

import heapq


class BestTransactions:
    """Iterate pending ``PooledTransaction``s of a pool for one block; see the module docstring.

    Made by ``Mempool.best_transactions(base_fee)``. Transactions stay in the pool while they are
    iterated: the sequencer reports the sealed block with ``Mempool.on_block_mined``, and a
    transaction the VM rejected with ``Mempool.mark_invalid``.
    """

    def __init__(self, pool, base_fee: int, heads) -> None:
        self._pool = pool
        self.base_fee = base_fee
        self._heap: list = []
        self._in_heap: set = set()  # senders with an entry in the heap
        self._next_nonce: dict = {}  # sender -> the nonce it may offer next, once one was taken
        self._skipped: set = set()
        for ptx in heads:
            self._push(ptx)
        heapq.heapify(self._heap)

    def _entry(self, ptx) -> tuple:
        return (-min(ptx.tip, ptx.max_fee - self.base_fee), ptx.seq, ptx)

    def _push(self, ptx) -> None:
        """Queue ``ptx`` as its sender's candidate (unless its fee cap is below the base fee)."""
        if ptx.max_fee < self.base_fee:
            return
        self._heap.append(self._entry(ptx))
        self._in_heap.add(ptx.sender)

    def __iter__(self):
        return self

    def __next__(self):
        pool = self._pool
        heap = self._heap
        while heap:
            ptx = heapq.heappop(heap)[2]
            sender = ptx.sender
            self._in_heap.discard(sender)
            if sender in self._skipped:
                continue
            current = pool.current(ptx)
            if current is not ptx:  # replaced, mined or dropped since it was queued here
                if current is not None and current.max_fee >= self.base_fee:
                    heapq.heappush(heap, self._entry(current))
                    self._in_heap.add(sender)
                continue
            self._next_nonce[sender] = ptx.nonce + 1
            following = pool.next_pending(ptx)
            if following is not None and following.max_fee >= self.base_fee:
                heapq.heappush(heap, self._entry(following))
                self._in_heap.add(sender)
            return ptx
        raise StopIteration

    def offer(self, ptx) -> None:
        """A transaction just became pending: take it in if it is its sender's next nonce here."""
        sender = ptx.sender
        if sender in self._in_heap or sender in self._skipped:
            return
        expected = self._next_nonce.get(sender)
        if expected is None:
            expected = self._pool.account_nonce(sender)
        if ptx.nonce == expected and ptx.max_fee >= self.base_fee:
            heapq.heappush(self._heap, self._entry(ptx))
            self._in_heap.add(sender)

    def skip_sender(self, sender: bytes) -> None:
        """Offer nothing more from ``sender`` in this block."""
        self._skipped.add(sender)

    def skip(self, ptx) -> None:
        """Leave ``ptx`` (and so its sender's later nonces) out of this block; it stays pooled."""
        self.skip_sender(ptx.sender)
