"""``L1TransactionQueue``: L1 transactions waiting for a block.

The L1 watcher (``zkos_tw.l1``) pushes what it reads from L1 here: the genesis upgrade
transaction (0x7e, block 1 always starts with it, reference §7.6) and the priority transactions
(0x7f) by priority id. The sequencer takes them in id order, starting at the next id its chain
has not included yet, before any L2 transaction of the block (reference §7.3). Ids below that
are never offered, so a restart never includes a priority transaction twice, and a missing id
holds every later one back, so none is skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer
from zope.interface import implementer

from zkos_tw.execution.l1_transactions import PRIORITY_TX_TYPE, UPGRADE_TX_TYPE, L1Transaction
from zkos_tw.interfaces import IPriorityTxSink

#: Priority transactions held before the watcher has to wait (a full block's worth).
DEFAULT_CAPACITY = 1000


@implementer(IPriorityTxSink)
class L1TransactionQueue:
    """The L1 transactions the sequencer may include; see the module docstring.

    As the watcher's ``IPriorityTxSink`` it takes transactions strictly in id order from
    ``next_priority_id`` (the chain's next id at start-up) and makes the watcher wait while
    ``capacity`` transactions are waiting for a block.
    """

    def __init__(self, next_priority_id: int = 0, capacity: int = DEFAULT_CAPACITY) -> None:
        self._upgrade: L1Transaction | None = None
        self.upgrade_preimages: tuple[tuple[bytes, bytes], ...] = ()
        self._priority: dict[int, L1Transaction] = {}
        self._listeners: list[Callable[[], object]] = []
        self._capacity = capacity
        self._room: list[defer.Deferred] = []
        self.next_priority_id = next_priority_id

    def put(self, tx: L1Transaction) -> defer.Deferred:
        """(``IPriorityTxSink``) The next priority transaction from the watcher."""
        if tx.tx_type != PRIORITY_TX_TYPE or tx.priority_id != self.next_priority_id:
            raise ValueError(
                f"expected priority transaction {self.next_priority_id}, got type "
                f"{tx.tx_type:#x} id {tx.nonce}"
            )
        self.push(tx)
        if len(self._priority) < self._capacity:
            return defer.succeed(None)
        waiting = defer.Deferred()
        self._room.append(waiting)
        return waiting

    def set_upgrade(self, tx: L1Transaction, preimages=()) -> None:
        """The genesis upgrade transaction (type 0x7e) and its factory deps as
        ``(blake2s(raw), raw)`` preimages, which block 1 stores (reference §7.6)."""
        if tx.tx_type != UPGRADE_TX_TYPE:
            raise ValueError(f"the genesis upgrade transaction has type {tx.tx_type:#x}, not 0x7e")
        self._upgrade = tx
        self.upgrade_preimages = tuple(preimages)
        self._announce()

    def push(self, tx: L1Transaction) -> None:
        """A priority transaction (type 0x7f) read from L1; a repeated id is ignored."""
        if tx.tx_type != PRIORITY_TX_TYPE:
            raise ValueError(f"a priority transaction has type {tx.tx_type:#x}, not 0x7f")
        if tx.priority_id not in self._priority:
            self._priority[tx.priority_id] = tx
            self.next_priority_id = max(self.next_priority_id, tx.priority_id + 1)
            self._announce()

    @property
    def upgrade(self) -> L1Transaction | None:
        return self._upgrade

    def available(self, next_id: int, limit: int | None = None) -> list[L1Transaction]:
        """Priority transactions ``next_id, next_id + 1, ...`` as far as they are gapless."""
        found = []
        while (limit is None or len(found) < limit) and next_id in self._priority:
            found.append(self._priority[next_id])
            next_id += 1
        return found

    def included_up_to(self, next_id: int) -> None:
        """Forget priority transactions below ``next_id`` (they are in stored blocks)."""
        for priority_id in [i for i in self._priority if i < next_id]:
            del self._priority[priority_id]
        self.next_priority_id = max(self.next_priority_id, next_id)
        while self._room and len(self._priority) < self._capacity:
            self._room.pop(0).callback(None)

    def __len__(self) -> int:
        return len(self._priority)

    def add_listener(self, listener: Callable[[], object]) -> Callable[[], None]:
        """Call ``listener()`` when something new arrives; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _announce(self) -> None:
        for listener in list(self._listeners):
            listener()
