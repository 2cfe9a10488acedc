"""Where the chain stands on L1: committed, proved and executed batches (reference §7.5).

``BatchProgress`` holds the last committed / proved / executed batch numbers and the last L2 block
of the last committed and executed batch; the RPC's ``safe`` tag is ``last_committed_block`` and
``finalized`` is ``last_executed_block``. Every number only moves forward.

``BatchProgressWatcher`` is a Twisted service. It starts from the counters discovery read
(``getTotalBatchesCommitted/Verified/Executed``) at the L1 head it sees on start, then every
``poll_interval`` reads the diamond proxy's logs over at most ``max_blocks`` L1 blocks and takes
``BlockCommit(batchNumber, …)``, ``BlocksVerification(previous, current)`` and
``BlockExecution(batchNumber, …)`` into the progress.

Batch numbers become block numbers through ``last_block_of_batch(n)`` (the batch store): a batch
the store does not know yet (the batcher of an external node lags, or a restart is rebuilding)
keeps its batch number, and its block follows as soon as the store answers.

Differences from the reference, on purpose:

* the batch counters are kept current too, not only the block numbers (the reference's watchers
  never update ``last_committed_batch`` / ``last_executed_batch`` after start-up, §7.5 quirk);
* the start needs no binary search: the counters read on start are where the chain stands, and
  the logs after the L1 head seen just before are what changes it (an event seen twice changes
  nothing, since every number only moves forward);
* a ``revertBatches`` on L1 lowers ``getTotalBatchesCommitted``; this watcher never moves ``safe``
  backwards and logs the event instead (a reverted batch is an operator's emergency).
"""

from __future__ import annotations

from twisted.application import service
from twisted.internet import defer
from twisted.internet.task import deferLater
from twisted.logger import Logger

from zkos_tw.l1.client import L1Error
from zkos_tw.l1.discovery import SIG_TOTAL_COMMITTED, SIG_TOTAL_EXECUTED, SIG_TOTAL_VERIFIED

BLOCK_COMMIT_TOPIC = bytes.fromhex(
    "8f2916b2f2d78cc5890ead36c06c0f6d5d112c7e103589947e8e2f0d6eddb763"
)
BLOCK_EXECUTION_TOPIC = bytes.fromhex(
    "2402307311a4d6604e4e7b4c8a15a7e1213edb39c16a31efa70afb06030d3165"
)
BLOCKS_VERIFICATION_TOPIC = bytes.fromhex(
    "22c9005dd88c18b552a1cd7e8b3b937fcde9ca69213c1f658f54d572e4877a81"
)

DEFAULT_POLL_INTERVAL = 0.1
DEFAULT_MAX_BLOCKS = 100
MAX_ERROR_INTERVAL = 5.0


class BatchProgress:
    """The last committed / proved / executed batch and the L2 blocks they end with."""

    def __init__(
        self, committed: int = 0, proved: int = 0, executed: int = 0, last_block_of_batch=None
    ):
        self.last_committed_batch = committed
        self.last_proved_batch = proved
        self.last_executed_batch = executed
        self.last_committed_block = 0
        self.last_proved_block = 0
        self.last_executed_block = 0
        self._last_block_of_batch = last_block_of_batch or (lambda n: 0 if n == 0 else None)
        self._listeners: list = []
        self.refresh_blocks()

    def add_listener(self, listener) -> None:
        """Call ``listener(progress)`` whenever a number moves."""
        self._listeners.append(listener)

    def committed(self, batch: int) -> None:
        self._advance("last_committed_batch", batch)

    def proved(self, batch: int) -> None:
        self._advance("last_proved_batch", batch)

    def executed(self, batch: int) -> None:
        self._advance("last_executed_batch", batch)

    def refresh_blocks(self) -> bool:
        """Map the batch numbers to blocks again (the store may know more now); True if a block
        number moved."""
        moved = False
        for kind in ("committed", "proved", "executed"):
            block = self._last_block_of_batch(getattr(self, f"last_{kind}_batch"))
            if block is not None and block > getattr(self, f"last_{kind}_block"):
                setattr(self, f"last_{kind}_block", block)
                moved = True
        return moved

    def as_json(self) -> dict:
        return {
            "lastCommittedBatch": self.last_committed_batch,
            "lastProvedBatch": self.last_proved_batch,
            "lastExecutedBatch": self.last_executed_batch,
            "lastCommittedBlock": self.last_committed_block,
            "lastProvedBlock": self.last_proved_block,
            "lastExecutedBlock": self.last_executed_block,
        }

    def _advance(self, attribute: str, batch: int) -> None:
        if batch <= getattr(self, attribute):
            return
        setattr(self, attribute, batch)
        self.refresh_blocks()
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener(self)


def _topic_int(log: dict, index: int) -> int:
    topics = log.get("topics") or []
    if len(topics) <= index or not isinstance(topics[index], str):
        raise L1Error("eth_getLogs", f"log without topic {index}: {log!r:.120}")
    return int(topics[index], 16)


def apply_log(progress: BatchProgress, log: dict) -> None:
    """Take one diamond-proxy log into ``progress`` (other events are ignored)."""
    topics = log.get("topics") or []
    if not topics or not isinstance(topics[0], str):
        return
    topic0 = bytes.fromhex(topics[0][2:])
    if topic0 == BLOCK_COMMIT_TOPIC:
        progress.committed(_topic_int(log, 1))
    elif topic0 == BLOCKS_VERIFICATION_TOPIC:
        progress.proved(_topic_int(log, 2))
    elif topic0 == BLOCK_EXECUTION_TOPIC:
        progress.executed(_topic_int(log, 1))


async def read_batch_counters(client, diamond_proxy: bytes, block="latest") -> tuple[int, int, int]:
    """``(committed, verified, executed)`` batch totals at ``block``."""
    values = []
    for signature in (SIG_TOTAL_COMMITTED, SIG_TOTAL_VERIFIED, SIG_TOTAL_EXECUTED):
        (value,) = await client.call_function(
            diamond_proxy, signature, returns=["uint256"], block=block
        )
        values.append(value)
    return tuple(values)


class BatchProgressWatcher(service.Service):
    """Follows the diamond proxy's batch events into a ``BatchProgress``."""

    name = "l1-batch-watcher"
    log = Logger()

    def __init__(
        self,
        client,
        diamond_proxy: bytes,
        progress: BatchProgress,
        *,
        clock,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_blocks: int = DEFAULT_MAX_BLOCKS,
    ):
        if max_blocks < 1:
            raise ValueError(f"max_blocks must be at least 1, got {max_blocks}")
        self._client = client
        self._diamond = diamond_proxy
        self.progress = progress
        self._clock = clock
        self._poll_interval = poll_interval
        self._max_blocks = max_blocks
        #: The next L1 block to read logs from; ``None`` until the start counters are read.
        self.next_l1_block: int | None = None
        self._loop: defer.Deferred | None = None

    def startService(self):
        super().startService()
        self._loop = defer.Deferred.fromCoroutine(self._run())
        self._loop.addErrback(self._stopped)

    def stopService(self):
        super().stopService()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            loop.cancel()
        return defer.succeed(None)

    def _stopped(self, failure):
        if failure.check(defer.CancelledError) or not self.running:
            return None
        self.log.failure("L1 batch watcher stopped", failure)
        return None

    async def _run(self):
        interval = self._poll_interval
        while self.running:
            try:
                await self._poll()
                interval = self._poll_interval
            except L1Error as e:
                # The client's L1Health shows the outage; try again, less often.
                self.log.debug("L1 batch watcher: {error}", error=str(e))
                interval = min(MAX_ERROR_INTERVAL, max(interval * 2, self._poll_interval))
            await deferLater(self._clock, interval, lambda: None)

    async def _poll(self) -> None:
        if self.next_l1_block is None:
            head = await self._client.block_number()
            # Counters read after ``head`` may already hold events of blocks after it; the
            # progress only moves forward, so reading those events again changes nothing.
            committed, verified, executed = await read_batch_counters(self._client, self._diamond)
            self.progress.committed(committed)
            self.progress.proved(verified)
            self.progress.executed(executed)
            self.next_l1_block = head + 1
        elif self.progress.refresh_blocks():
            self.progress._notify()
        head = await self._client.block_number()
        while self.next_l1_block <= head:
            last = min(head, self.next_l1_block + self._max_blocks - 1)
            logs = await self._client.get_logs(self._diamond, [None], self.next_l1_block, last)
            for log in logs:
                apply_log(self.progress, log)
            self.next_l1_block = last + 1
