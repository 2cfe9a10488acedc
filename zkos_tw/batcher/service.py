"""``Batcher``: the service that turns stored blocks into sealed, persisted batches (§6.2, §1.4).

It starts right after the last batch in the batch store (block 1 on a new chain), reads each
stored block's seal facts through the injected ``block_facts(n)``, feeds them to
``BatchSealCriteria`` and seals when the criteria say so, or when the batch timeout timer
(``reactor.callLater``) fires between blocks. Sealing builds the ``CommitBatchInfo`` with the
injected ``build_info(batch_number, first_block, last_block)``, stores the ``BatchMetadata`` in the
batch store, and only then puts a ``BatchEnvelope`` on the output ``BoundedQueue``; a full queue
makes the batcher wait, so a slow prover slows batching rather than growing memory.

It never polls: when it has read every stored block it waits for ``block_stored`` (a
``BlockSink`` listener) or the timer. On start it first re-sends the stored batches above
``resend_after`` (the last batch in proof storage: sealed before a restart but not proved).

Reading a block's facts and sealing (``build_info`` and the batch store's durable write) run
through the injected ``in_thread`` (``zkos_tw.batcher.offload``; the node's pipeline thread),
each awaited before the loop goes on, so the reactor only keeps the seal decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from zkos_tw.batcher.info import BatchEnvelope, BatchMetadata, StoredBatchInfo
from zkos_tw.batcher.offload import run_here
from zkos_tw.batcher.seal import BatchSealCriteria
from zkos_tw.pipeline import BoundedQueue

BATCH_SEALED = "BatchSealed"


@dataclass(frozen=True)
class BlockFacts:
    """What the seal criteria and ``BatchMetadata`` need of one stored block."""

    number: int
    pubdata_size: int
    l2_to_l1_logs: int
    tx_count: int
    execution_version: int = 3
    computational_native: int = 0


class Batcher(Service):
    """Batches stored blocks; see the module docstring."""

    log = Logger()
    name = "batcher"

    def __init__(
        self,
        *,
        block_facts: Callable[[int], BlockFacts | None],
        build_info: Callable,
        batch_store,
        criteria: BatchSealCriteria,
        output: BoundedQueue,
        reactor: IReactorTime,
        genesis_batch: StoredBatchInfo,
        first_block: int = 1,
        resend_after: int | None = None,
        in_thread: Callable | None = None,
    ):
        self._block_facts = block_facts
        self._in_thread = in_thread or run_here
        self._build_info = build_info
        self._store = batch_store
        self._criteria = criteria
        self._output = output
        self._reactor = reactor
        self._genesis = genesis_batch
        self._first_block = first_block
        self._resend_after = resend_after
        self._wake: defer.Deferred | None = None
        self._timer = None
        self._loop: defer.Deferred | None = None
        #: The failure that ended the loop, if one did (health reads it).
        self.failure = None

    # -- lifecycle

    def startService(self) -> None:
        super().startService()
        last = self._store.last_batch()
        if last is None:
            self._previous = self._genesis
            self._next_batch = self._genesis.batch_number + 1
            self._next_block = self._first_block
        else:
            self._previous = last.commit_batch_info.stored()
            self._next_batch = last.number + 1
            self._next_block = last.last_block_number + 1
        self._open_first = self._next_block
        self._open_txs = 0
        self._open_version = None
        self._loop = defer.ensureDeferred(self._run())
        self._loop.addErrback(self._failed)

    def stopService(self):
        super().stopService()
        self._cancel_timer()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            loop.addErrback(lambda f: f.trap(defer.CancelledError))
            loop.cancel()

    def block_stored(self, _block=None) -> None:
        """The ``BlockSink`` listener: a block was stored, look for it."""
        self._poke()

    @property
    def next_block(self) -> int:
        """The next block the batcher will read."""
        return self._next_block

    # -- the loop

    def _poke(self) -> None:
        if self._wake is not None:
            wake, self._wake = self._wake, None
            wake.callback(None)

    def _failed(self, failure):
        if failure.check(defer.CancelledError):
            return None
        self.failure = failure
        self.log.failure("batcher stopped at block {block}", failure, block=self._next_block)
        return None

    async def _run(self) -> None:
        await self._resend_stored()
        while True:
            facts = await self._in_thread(self._block_facts, self._next_block)
            if facts is not None:
                await self._add(facts)
                continue
            if self._criteria.seal_on_timeout(self._reactor.seconds()):
                await self._seal(self._next_block - 1)
                continue
            self._arm_timer()
            self._wake = defer.Deferred()
            await self._wake

    async def _resend_stored(self) -> None:
        if self._resend_after is None:
            return
        last = self._store.last_batch()
        if last is None:
            return
        for number in range(self._resend_after + 1, last.number + 1):
            meta = self._store.batch(number)
            if meta is not None:
                await self._output.put(BatchEnvelope(meta))

    async def _add(self, facts: BlockFacts) -> None:
        decision = self._criteria.add_block(
            facts.pubdata_size,
            facts.l2_to_l1_logs,
            facts.execution_version,
            self._reactor.seconds(),
            facts.computational_native,
            facts.number,
        )
        if decision.before is not None:
            await self._seal(facts.number - 1)
        self._open_txs += facts.tx_count
        self._open_version = facts.execution_version
        self._next_block = facts.number + 1
        if decision.after is not None:
            await self._seal(facts.number)

    async def _seal(self, last_block: int) -> None:
        self._cancel_timer()
        first = self._open_first
        meta = await self._in_thread(
            self._build_and_store,
            self._next_batch,
            self._previous,
            first,
            last_block,
            self._open_txs,
            self._open_version or 3,
        )
        info = meta.commit_batch_info
        self.log.info(
            "sealed batch {batch} (blocks {first}..={last})",
            batch=meta.number,
            first=first,
            last=last_block,
        )
        self._previous = info.stored()
        self._next_batch += 1
        self._open_first = last_block + 1
        self._open_txs = 0
        envelope = BatchEnvelope(meta, stage_times={BATCH_SEALED: self._reactor.seconds()})
        await self._output.put(envelope)

    def _build_and_store(
        self,
        number: int,
        previous: StoredBatchInfo,
        first: int,
        last_block: int,
        tx_count: int,
        version: int,
    ) -> BatchMetadata:
        """(pipeline thread) The batch's commit info, stored durably before it is passed on."""
        info = self._build_info(number, first, last_block)
        meta = BatchMetadata(previous, info, first, last_block, tx_count, version)
        self._store.put(meta)
        return meta

    # -- the timeout timer

    def _arm_timer(self) -> None:
        started = self._criteria.first_block_time
        if started is None or self._timer is not None:
            return
        delay = max(0.0, started + self._criteria.batch_timeout - self._reactor.seconds())
        self._timer = self._reactor.callLater(delay, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self._poke()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None


def create_batcher(
    config,
    *,
    storage,
    batch_store,
    proof_storage,
    build_info: Callable,
    block_facts: Callable[[int], BlockFacts | None],
    output: BoundedQueue,
    reactor: IReactorTime,
    genesis_batch: StoredBatchInfo,
    registry=None,
    in_thread: Callable | None = None,
) -> Batcher:
    """The ``Batcher`` of a ``BatcherConfig`` for a node at start-up.

    The timeout is armed only from the block storage's last block at start-up (replayed blocks
    seal by limits only), and every stored batch that proof storage does not hold yet is re-sent
    to the provers."""
    criteria = BatchSealCriteria.from_config(config, registry)
    criteria.arm_timeout_from_block = storage.last_block() or 0
    return Batcher(
        block_facts=block_facts,
        build_info=build_info,
        batch_store=batch_store,
        criteria=criteria,
        output=output,
        reactor=reactor,
        genesis_batch=genesis_batch,
        resend_after=proof_storage.latest_batch() or 0,
        in_thread=in_thread,
    )
