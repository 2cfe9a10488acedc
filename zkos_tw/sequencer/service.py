"""``Sequencer``: the block producer, as a Twisted service.

Blocks come from commands (``zkos_tw.sequencer.commands``): ``Produce`` builds the next block
from the mempool (the main node), ``Replay`` executes a recorded block again (external nodes,
WAL re-execution). Both run through ``execute``: the same builder, the same worker-thread
execution, the same one-transaction write and the same notifications.

For ``Produce`` it waits until the mempool has an executable transaction, then builds one block:

* the block context (number, the last 256 hashes, the timestamp when the first transaction was
  available, base fee, coinbase, gas limit) comes from the chain tip;
* transactions come from the pool's best-transactions iterator in batches; each batch executes in
  a worker thread (``deferToThread``), so the reactor keeps serving RPC while a block is built;
* the block seals ``block_time`` after its first executed transaction, at
  ``max_transactions_in_block``, or when the next transaction's gas limit would overflow the block
  gas limit (the reference, §6.1); blocks are never empty;
* a transaction the VM refuses is dropped from the pool with its reason;
* the sealed block is written in one storage transaction (in the worker thread), then the pool,
  the health status and the listeners (RPC subscriptions) hear of it.

Only one block is built at a time; the state view is used by the worker thread alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.threads import deferToThread
from twisted.logger import Logger

from zkos_tw.execution.exceptions import InvalidTransaction
from zkos_tw.execution.l1_transactions import L1_TX_TYPES
from zkos_tw.metrics_chain import ExecutionMetrics
from zkos_tw.sequencer.blocks import DEFAULT_BASE_FEE, DEFAULT_PUBDATA_PRICE, BlockContext
from zkos_tw.sequencer.builder import BlockBuilder, BlockFull, SealedBlock
from zkos_tw.sequencer.commands import (
    MempoolSource,
    Produce,
    Replay,
    ReplayDivergence,
    ReplaySource,
)
from zkos_tw.sequencer.l1_queue import L1TransactionQueue
from zkos_tw.sequencer.tip import ChainTip
from zkos_tw.sequencer.wal import ReplayRecord
from zkos_tw.state.keys import ACCOUNT_PROPERTIES_STORAGE_ADDRESS
from zkos_tw.state.view import FlatState

log = Logger()

BATCH_SIZE = 256  # transactions handed to the worker thread at a time
STATE_VIEW_BLOCKS = 256  # blocks one state view serves before a fresh one


class Sequencer(Service):
    """Produces blocks from the mempool; see the module docstring."""

    name = "sequencer"

    def __init__(
        self,
        reactor,
        config,
        chain_id: int,
        chain,
        mempool,
        sink,
        *,
        on_sealed: Callable[[SealedBlock], object] | None = None,
        l1_queue: L1TransactionQueue | None = None,
        metrics: ExecutionMetrics | None = None,
        producing: bool = True,
        _in_thread=deferToThread,
    ):
        self._reactor = reactor
        self._config = config
        self._chain_id = chain_id
        self._chain = chain
        self._mempool = mempool
        self._sink = sink
        self._on_sealed = on_sealed
        self._l1_queue = l1_queue
        self._remove_l1_listener = None
        self._in_thread = _in_thread
        #: False on an external node: blocks come only from ``replay_block``, never the pool.
        self.producing = producing
        self.metrics = metrics or ExecutionMetrics(CollectorRegistry())
        self._base_fee = (
            DEFAULT_BASE_FEE if config.base_fee_override is None else config.base_fee_override
        )
        self._pubdata_price = (
            DEFAULT_PUBDATA_PRICE
            if config.pubdata_price_override is None
            else config.pubdata_price_override
        )
        self._coinbase = bytes.fromhex(config.fee_collector_address[2:])
        self._wake: defer.Deferred | None = None
        self._remove_listener = None
        self._loop: defer.Deferred | None = None
        self.tip: ChainTip | None = None
        self._state: FlatState | None = None
        self.blocks_produced = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        storage = self._chain.storage
        self.tip = ChainTip.load(storage)
        self._state = FlatState(storage.state_at(self.tip.number), storage.preimage_store())
        self._remove_listener = self._mempool.add_pending_listener(lambda ptx: self._poke())
        if self._l1_queue is not None:
            self._remove_l1_listener = self._l1_queue.add_listener(self._poke)
        if not self.producing:
            self._loop = defer.succeed(None)
            return
        self._loop = defer.ensureDeferred(self._run())
        self._loop.addErrback(self._crashed)

    def stopService(self):
        super().stopService()
        if self._remove_listener is not None:
            self._remove_listener()
        if self._remove_l1_listener is not None:
            self._remove_l1_listener()
            self._remove_l1_listener = None
        self._poke()
        # Let a block being written finish: it is one transaction, never half there.
        return self._loop

    def _crashed(self, failure) -> None:
        log.failure("the sequencer stopped on an error; stopping the node", failure)
        if self._reactor.running:
            self._reactor.stop()

    def _poke(self) -> None:
        wake, self._wake = self._wake, None
        if wake is not None:
            wake.callback(None)

    def _wait(self, timeout: float | None = None) -> defer.Deferred:
        """Wait for a new pending transaction (or the timeout, or stop)."""
        self._wake = defer.Deferred()
        wake = self._wake
        if timeout is not None:
            call = self._reactor.callLater(max(0.0, timeout), self._poke)
            wake.addBoth(lambda result: (call.active() and call.cancel(), result)[1])
        return wake

    # -- production -----------------------------------------------------------------------------

    def _l1_for_next_block(self) -> list | None:
        """The L1 transactions the next block starts with; ``None`` if it must wait for L1.

        With an L1, block 1 starts with the genesis upgrade transaction (reference §7.6): until
        the watcher found it, no block is produced. Then come the priority transactions from
        the next id on, as far as they arrived without a gap.
        """
        queue = self._l1_queue
        if queue is None:
            return []
        first = []
        if self.tip.number == 0:
            if queue.upgrade is None:
                return None
            first.append(queue.upgrade)
        limit = self._config.max_transactions_in_block - len(first)
        return first + queue.available(self.tip.next_priority_id, limit)

    async def _run(self) -> None:
        while self.running:
            l1 = self._l1_for_next_block()
            if l1 is None or (not l1 and self._mempool.pending_count() == 0):
                await self._wait()
                continue
            if await self.produce_block() is None:
                # Pending transactions that cannot run now (fee cap under the base fee, or
                # refused): wait for the pool to change instead of spinning.
                await self._wait()

    def _context(self) -> BlockContext:
        tip = self.tip
        return BlockContext(
            chain_id=self._chain_id,
            number=tip.number + 1,
            block_hashes=tip.hashes,
            timestamp=max(int(self._reactor.seconds()), tip.timestamp),
            base_fee=self._base_fee,
            pubdata_price=self._pubdata_price,
            coinbase=self._coinbase,
            gas_limit=self._config.block_gas_limit,
            pubdata_limit=self._config.block_pubdata_limit_bytes,
        )

    async def produce_block(self) -> SealedBlock | None:
        """Build, seal and store the next block from the pool; ``None`` if nothing was included."""
        return await self.execute(Produce())

    async def replay_block(self, record: ReplayRecord) -> SealedBlock:
        """Execute a recorded block again and store it; ``ReplayDivergence`` if it differs."""
        return await self.execute(Replay(record))

    async def execute(self, command: Produce | Replay) -> SealedBlock | None:
        """Run one block command (``Produce`` or ``Replay``) through the one block path."""
        if isinstance(command, Replay):
            context = self._replay_context(command.record)
            source = ReplaySource(command.record)
            expected = command.record.block_output_hash
        else:
            l1 = self._l1_for_next_block()
            if l1 is None:
                return None  # block 1 waits for the genesis upgrade transaction
            context = self._context()
            source = MempoolSource(self._mempool, context.base_fee, l1)
            expected = None
        try:
            return await self._build(context, source, expected)
        except ReplayDivergence:
            # The state view may hold part of the refused block: read on from storage.
            self._reset_state()
            raise

    def _replay_context(self, record: ReplayRecord) -> BlockContext:
        context = record.context
        if context.number != self.tip.number + 1:
            raise ReplayDivergence(
                f"replay of block {context.number} but the next block is {self.tip.number + 1}",
                "block_number",
            )
        if context.block_hashes != self.tip.hashes:
            raise ReplayDivergence(
                f"block {context.number}: recorded parent 0x{context.parent_hash.hex()} is not "
                f"our block {self.tip.number} 0x{self.tip.hash.hex()}",
                "block_hashes",
            )
        if record.starting_l1_priority_id != self.tip.next_priority_id:
            raise ReplayDivergence(
                f"block {context.number}: starts at priority id "
                f"{record.starting_l1_priority_id}, ours is {self.tip.next_priority_id}",
                "starting_l1_priority_id",
            )
        if context.chain_id != self._chain_id:
            raise ReplayDivergence(
                f"block {context.number}: chain id {context.chain_id}, ours is {self._chain_id}",
                "chain_id",
            )
        return context

    def _reset_state(self) -> None:
        storage = self._chain.storage
        self._state = FlatState(storage.state_at(self.tip.number), storage.preimage_store())

    async def _build(self, context: BlockContext, source, expected: bytes | None):
        builder = BlockBuilder(
            context, self._state, max_transactions=self._config.max_transactions_in_block
        )
        deadline: float | None = None
        reason = None
        while reason is None and self.running:
            batch = source.next_batch(BATCH_SIZE)
            if not batch:
                if not source.waits:
                    reason = "replay"
                    break
                if not builder.transactions:
                    return None  # nothing executable: no empty blocks
                remaining = deadline - self._reactor.seconds()
                if remaining <= 0:
                    reason = "timeout"
                    break
                await self._wait(remaining)
                continue
            outcomes = await self._in_thread(_execute_batch, builder, batch, self.metrics)
            for candidate, outcome in outcomes:
                if isinstance(outcome, InvalidTransaction):
                    source.rejected(candidate, str(outcome))
                elif isinstance(outcome, BlockFull):
                    source.did_not_fit(candidate)
                    reason = outcome.reason
            if not source.waits:
                continue  # a replayed block seals when its list is exhausted
            if builder.transactions and deadline is None:
                deadline = self._reactor.seconds() + self._config.block_time
            if reason is None:
                reason = builder.full
            if reason is None and deadline is not None and self._reactor.seconds() >= deadline:
                reason = "timeout"
        if not builder.transactions:
            # Stopping, or every candidate was refused: leave the state as it was.
            self._state.finish_block()
            return None
        if reason is None:
            if not source.waits:
                # Stopping half-way through a replay: the block is not stored, the state reset.
                self._reset_state()
                return None
            reason = "shutdown"  # stopping: what already ran is sealed and stored
        block = await self._in_thread(self._seal_and_store, builder, reason, expected)
        self._after_block(block)
        return block

    def _seal_and_store(
        self, builder: BlockBuilder, reason: str, expected: bytes | None = None
    ) -> SealedBlock:
        """(worker thread) Seal the block, check a replay's result, write it in one transaction."""
        block = builder.seal(reason)
        if expected is not None and block.output_hash() != expected:
            raise ReplayDivergence(
                f"block {block.number}: output hash 0x{block.output_hash().hex()} differs from "
                f"the recorded 0x{expected.hex()}",
                "block_output_hash",
            )
        extra = ()
        if block.number == 1 and self._l1_queue is not None:
            extra = self._l1_queue.upgrade_preimages
        self._sink.persist(
            block,
            previous_timestamp=self.tip.timestamp,
            starting_l1_priority_id=self.tip.next_priority_id,
            extra_preimages=extra,
        )
        return block

    def _after_block(self, block: SealedBlock) -> None:
        self.tip = self.tip.advance(block)
        self.blocks_produced += 1
        if block.number % STATE_VIEW_BLOCKS == 0:
            # The view caches every account and slot it read; start a fresh one over storage
            # now and then so a long-running node's memory follows its working set.
            self._reset_state()
        # The sink's listeners first: the pool's account reader must see the new block before
        # the pool re-reads the accounts the block changed.
        self._sink.notify(block)
        mined = [
            (t.sender, t.tx.nonce) for t in block.transactions if t.tx.tx_type not in L1_TX_TYPES
        ]
        # Account records live under 0x8003 with the account, padded, as the slot.
        changed = {
            w.slot[12:]
            for w in block.state_output.storage_writes
            if w.address == ACCOUNT_PROPERTIES_STORAGE_ADDRESS
        }
        self._mempool.on_block_mined(mined, changed_accounts=changed)
        if self._l1_queue is not None:
            self._l1_queue.included_up_to(self.tip.next_priority_id)
        self.metrics.block_sealed(block, self.tip.next_priority_id)
        log.info(
            "sealed block {number} with {count} txs ({reason}), gas {gas}",
            number=block.number,
            count=len(block.transactions),
            reason=block.seal_reason,
            gas=block.header.gas_used,
        )
        if self._on_sealed is not None:
            self._on_sealed(block)


def _execute_batch(builder: BlockBuilder, batch, metrics: ExecutionMetrics) -> list:
    """(worker thread) Execute ``batch`` in order; stop at the first that does not fit."""
    outcomes = []
    durations: list[float] = []  # reported once per batch (``transactions_executed``)
    clock = time.perf_counter
    add, add_l1 = builder.add, builder.add_l1
    try:
        for candidate in batch:
            started = clock()
            try:
                tx = candidate.tx
                if tx.tx_type in L1_TX_TYPES:
                    add_l1(tx)
                else:
                    add(candidate.raw, tx, candidate.sender)
                outcomes.append((candidate, None))
            except InvalidTransaction as e:
                outcomes.append((candidate, e))
            except BlockFull as e:
                outcomes.append((candidate, e))
                break
            finally:
                durations.append(clock() - started)
    finally:
        metrics.transactions_executed(durations)
    return outcomes
