"""``L1TransactionCheck``: the external node's own L1 vouches for every L1 transaction it replays.

A replay record carries L1 transactions (the genesis upgrade ``0x7e`` in block 1, priority
transactions ``0x7f``). The EN does not take them on the main node's word (reference §4.5): for
each one, in order, it waits until its own L1 watcher has read the same transaction — the upgrade
from the queue's ``upgrade``, priority id ``starting_l1_priority_id + k`` for the k-th priority
transaction — and compares the EIP-2718 bytes. A difference is a ``ReplayDivergence`` naming the
transaction's index in the record.
"""

from __future__ import annotations

from twisted.internet import defer

from zkos_tw.execution.l1_transactions import UPGRADE_TX_TYPE, is_l1_envelope
from zkos_tw.sequencer.commands import ReplayDivergence
from zkos_tw.sequencer.wal import ReplayRecord


class L1TransactionCheck:
    """Checks records against ``queue`` (the ``L1TransactionQueue`` the EN's watcher fills)."""

    def __init__(self, queue):
        self._queue = queue
        #: what the check waits for right now (``None`` when it does not wait), for the logs
        self.waiting_for: str | None = None

    async def check(self, record: ReplayRecord) -> None:
        """Return once every L1 transaction of ``record`` matched ours; raise on a mismatch."""
        number = record.context.number
        priority_id = record.starting_l1_priority_id
        for index, raw in enumerate(record.transactions):
            if not is_l1_envelope(raw):
                continue
            if raw[0] == UPGRADE_TX_TYPE:
                what = "the genesis upgrade transaction"
                ours = await self._wait(what, lambda: self._queue.upgrade)
            else:
                what = f"priority transaction {priority_id}"
                ours = await self._wait(
                    what, lambda wanted=priority_id: self._first(self._queue.available(wanted, 1))
                )
                priority_id += 1
            if ours.raw != raw:
                raise ReplayDivergence(
                    f"block {number}: transaction {index} ({what}) differs from the one our L1 "
                    f"watcher read (ours 0x{ours.hash.hex()})",
                    f"transactions[{index}]",
                )

    @staticmethod
    def _first(found):
        return found[0] if found else None

    async def _wait(self, what: str, ready):
        """``ready()`` once it is not ``None``; waits for the queue's announcements."""
        while (value := ready()) is None:
            self.waiting_for = what
            arrived = defer.Deferred()

            def announce(arrived=arrived):
                if not arrived.called:
                    arrived.callback(None)

            remove = self._queue.add_listener(announce)
            try:
                await arrived
            finally:
                remove()
        self.waiting_for = None
        return value
