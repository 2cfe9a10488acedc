"""The pipeline steps between the provers and the L1 senders (reference §5.6, §7.4).

* ``CommitFeeder``: each proved batch, in order from the ``GaplessCommitter``, becomes one
  ``CommitCommand`` (one batch per commit transaction, §7.2).
* ``ProveFeeder``: each SNARK ``ProofCommand`` becomes a ``ProveCommand``. After a restart the
  pipeline is re-fed from the last batch *executed* on L1, so a SNARK group may start at or below
  what L1 has already verified: those batches bypass the prove sender (they go straight to its
  output, in order, before anything it sends), the rest is proved as one group.
* ``ExecuteFeeder``: the priority tree (§7.4). For each proved batch, in order, it pushes the
  batch's L1 transaction hashes and emits an ``ExecuteCommand`` with their range proof; the
  leaves before the next batch are trimmed at once (the tree keeps only what later proofs need).
  Once a batch is executed on L1 the tree as it was right after it is persisted
  (``SnapshotFile``, the §7.4 cache); at start the tree is loaded from that snapshot and the L1
  transactions of the batches executed since are pushed again from storage (without a usable
  snapshot, from batch 1; only batches with L1 transactions are read).
* ``PipelineSink``: the end of the pipeline; it records each executed batch's §5.6 stage times.

Each step is a small service that loops ``get`` → transform → ``put`` on ``BoundedQueue``\\ s, so
a slow L1 stalls the steps before it instead of growing memory. The priority tree's storage
reads (only for batches that have L1 transactions) and its snapshot writes run through the
injected ``in_thread`` (the pipeline thread, ``zkos_tw.batcher.offload``), awaited in order.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger

from zkos_tw.batcher.commitment import priority_tx_hashes
from zkos_tw.batcher.info import BatchEnvelope, ProofCommand
from zkos_tw.batcher.offload import run_here
from zkos_tw.l1.calldata import CommitCommand, ExecuteCommand, ProveCommand
from zkos_tw.pipeline import BoundedQueue, QueueClosed
from zkos_tw.priority_tree import PriorityTree, PriorityTreeError, PriorityTreeSnapshot

log = Logger()


class _Step(Service):
    """A loop over ``_step()`` until stopped; a failure stops the step with a ``problems()``
    entry (the node keeps running and ``/status/health`` shows it)."""

    log = Logger()

    def __init__(self):
        self._loop: defer.Deferred | None = None
        self.failure: str | None = None

    def startService(self) -> None:
        super().startService()
        self._loop = defer.ensureDeferred(self._run())
        self._loop.addErrback(self._failed)

    def stopService(self):
        super().stopService()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            loop.cancel()

    async def _run(self) -> None:
        while True:
            await self._step()

    async def _step(self) -> None:
        raise NotImplementedError

    def _failed(self, failure):
        if failure.check(defer.CancelledError, QueueClosed):
            return None
        self.failure = failure.getErrorMessage()
        self.log.failure("pipeline step {name} stopped", failure, name=self.name)
        return None

    def problems(self) -> list[str]:
        return [] if self.failure is None else [f"{self.name} stopped: {self.failure}"]


class CommitFeeder(_Step):
    name = "commit feeder"

    def __init__(self, input: BoundedQueue, output: BoundedQueue):
        super().__init__()
        self._input = input
        self._output = output

    async def _step(self) -> None:
        envelope = await self._input.get()
        await self._output.put(CommitCommand(envelope))


class ProveFeeder(_Step):
    name = "prove feeder"

    def __init__(
        self,
        input: BoundedQueue,
        output: BoundedQueue,
        bypass: BoundedQueue,
        l1_verified: Callable[[], int],
    ):
        super().__init__()
        self._input = input
        self._output = output
        self._bypass = bypass
        self._l1_verified = l1_verified

    async def _step(self) -> None:
        command: ProofCommand = await self._input.get()
        verified = self._l1_verified()
        done = [e for e in command.batches if e.number <= verified]
        rest = tuple(e for e in command.batches if e.number > verified)
        for envelope in done:
            self.log.info(
                "batch {batch} is already verified on L1; not proved again", batch=envelope.number
            )
            await self._bypass.put(envelope)
        if rest:
            await self._output.put(ProveCommand(rest, command.proof))


class ExecuteFeeder(_Step):
    name = "priority tree"

    def __init__(
        self,
        input: BoundedQueue,
        output: BoundedQueue,
        *,
        storage,
        batch_store,
        last_executed: int,
        snapshots=None,
        in_thread=None,
    ):
        super().__init__()
        self._in_thread = in_thread or run_here
        self._input = input
        self._output = output
        self._storage = storage
        self._snapshots = snapshots
        self.tree = rebuild_priority_tree(
            storage, batch_store, last_executed, snapshots.load() if snapshots else None
        )
        self.next_batch = last_executed + 1
        #: batch -> the tree's snapshot right after that batch, until it is executed on L1.
        self.pending: dict[int, object] = {}

    async def _step(self) -> None:
        envelope: BatchEnvelope = await self._input.get()
        if envelope.number < self.next_batch:
            self.log.info("batch {batch} is already executed; skipped", batch=envelope.number)
            return
        if envelope.number != self.next_batch:
            raise RuntimeError(
                f"the priority tree expects batch {self.next_batch}, got {envelope.number}"
            )
        meta = envelope.batch
        hashes = []
        if meta.commit_batch_info.number_of_layer1_txs:
            # The commit info counts the batch's 0x7f transactions: most batches have none,
            # and their receipts need not be read at all.
            hashes = await self._in_thread(
                priority_tx_hashes, self._storage, meta.first_block_number, meta.last_block_number
            )
        start = len(self.tree)
        self.tree.extend(hashes)
        proof = self.tree.range_proof(start, len(hashes))
        self.tree.trim(len(self.tree))
        self.pending[envelope.number] = self.tree.snapshot(meta.last_block_number)
        self.next_batch += 1
        await self._output.put(ExecuteCommand((envelope,), (proof,)))

    def executed(self, batch_number: int) -> defer.Deferred:
        """Batch ``batch_number`` is executed on L1: persist the tree as it was right after it
        (the cache a restart starts from, §7.4); the Deferred fires once it is written."""
        snapshot = self.pending.pop(batch_number, None)
        for number in [n for n in self.pending if n < batch_number]:
            del self.pending[number]
        if snapshot is not None and self._snapshots is not None:
            return self._in_thread(self._snapshots.save, snapshot)
        return defer.succeed(None)


def rebuild_priority_tree(
    storage, batch_store, last_executed: int, snapshot: PriorityTreeSnapshot | None = None
) -> PriorityTree:
    """The tree holding every L1 transaction of batches ``1..last_executed``, trimmed to the end.

    From ``snapshot`` (the tree right after some executed batch) when it is one of ours at or
    below ``last_executed``; from nothing otherwise (only batches with L1 transactions are read).
    """
    tree, first = PriorityTree(), 1
    if snapshot is not None:
        start = batch_store.batch_for_block(snapshot.block_number) if snapshot.block_number else 0
        meta = batch_store.batch(start) if start else None
        if start and start <= last_executed and meta.last_block_number == snapshot.block_number:
            tree, first = snapshot.tree(), start + 1
        else:
            log.info(
                "priority tree snapshot at block {block} does not fit L1's executed batch "
                "{executed}: rebuilding from storage",
                block=snapshot.block_number,
                executed=last_executed,
            )
    for number in range(first, last_executed + 1):
        meta = batch_store.batch(number)
        if meta is None:
            raise RuntimeError(
                f"batch {number} is executed on L1 but not in the batch store: the chain data "
                "does not belong to this L1 or lost batches"
            )
        if meta.commit_batch_info.number_of_layer1_txs:
            tree.extend(
                priority_tx_hashes(storage, meta.first_block_number, meta.last_block_number)
            )
    tree.trim(len(tree))
    return tree


class SnapshotFile:
    """The priority tree's snapshot in one file, replaced atomically (write, fsync, rename); an
    unreadable file is a cache miss (the tree is rebuilt from storage), never a failure."""

    def __init__(self, path: str):
        self.path = path

    def load(self) -> PriorityTreeSnapshot | None:
        try:
            with open(self.path, "rb") as f:
                return PriorityTreeSnapshot.decode(f.read())
        except FileNotFoundError:
            return None
        except (OSError, PriorityTreeError) as e:
            log.warn("ignoring the priority tree snapshot {path}: {error}", path=self.path, error=e)
            return None

    def save(self, snapshot: PriorityTreeSnapshot) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(snapshot.encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


class PipelineSink(_Step):
    name = "pipeline sink"

    def __init__(self, input: BoundedQueue, on_executed: Callable[[BatchEnvelope], object]):
        super().__init__()
        self._input = input
        self._on_executed = on_executed

    async def _step(self) -> None:
        envelope = await self._input.get()
        await defer.maybeDeferred(self._on_executed, envelope)
