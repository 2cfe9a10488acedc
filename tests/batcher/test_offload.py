"""The pipeline's own thread (``zkos_tw/batcher/offload.py``) and the stages that use it: the
batcher, the gapless committer and the priority tree run their storage steps through
``in_thread``, await each one, and pass nothing on before its store step finished; the batcher's
block facts remembered from the stored block equal those read back from storage."""

from __future__ import annotations

import threading
from dataclasses import replace
from types import SimpleNamespace

from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.batcher.test_block_facts import receipt, write
from tests.batcher.test_gapless import proved
from tests.batcher.test_service import GENESIS, Chain, fake_build_info
from tests.l1.sender_fixtures import envelopes
from zkos_tw.batcher import l1_stages
from zkos_tw.batcher.block_facts import (
    REMEMBERED_BLOCKS,
    BlockMemory,
    BlockSummary,
    StorageBlockFacts,
)
from zkos_tw.batcher.gapless import GaplessCommitter
from zkos_tw.batcher.info import BatchEnvelope
from zkos_tw.batcher.offload import PipelineThread
from zkos_tw.batcher.seal import BatchSealCriteria
from zkos_tw.batcher.service import Batcher
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.testing.memory_batch_store import MemoryBatchStore
from zkos_tw.testing.memory_proof_storage import MemoryProofStorage
from zkos_tw.testing.memory_storage import MemoryStorage


class ManualThread:
    """An ``in_thread`` whose steps run only when the test says so (``run_next``)."""

    def __init__(self):
        self.waiting: list[tuple[object, tuple, defer.Deferred]] = []

    def __call__(self, f, *args):
        d = defer.Deferred()
        self.waiting.append((f, args, d))
        return d

    def names(self):
        return [getattr(f, "__name__", repr(f)) for f, _, _ in self.waiting]

    def run_next(self):
        f, args, d = self.waiting.pop(0)
        d.callback(f(*args))

    def run_all(self):
        while self.waiting:
            self.run_next()


class PipelineThreadTests(TestCase):
    def test_runs_in_its_own_thread_in_order(self):
        """Steps run on one thread that is not the reactor's, one after the other, and their
        results come back on the reactor."""
        worker = PipelineThread(reactor)
        worker.startService()
        self.addCleanup(worker.stopService)
        seen = []

        def step(n):
            seen.append((n, threading.current_thread().name))
            return n * 2

        results = defer.gatherResults([worker(step, n) for n in range(5)])

        def check(values):
            self.assertEqual(values, [0, 2, 4, 6, 8])
            self.assertEqual([n for n, _ in seen], list(range(5)))
            names = {name for _, name in seen}
            self.assertEqual(len(names), 1)
            self.assertNotEqual(names.pop(), threading.current_thread().name)

        return results.addCallback(check)


class BatcherInThreadTests(SynchronousTestCase):
    def test_store_step_before_output(self):
        """The facts and the seal (build + durable put) are ``in_thread`` steps; the envelope is
        put on the output only after the seal step stored the batch."""
        chain, store, output, thread = Chain(), MemoryBatchStore(), BoundedQueue(10), ManualThread()
        batcher = Batcher(
            block_facts=chain.facts,
            build_info=fake_build_info,
            batch_store=store,
            criteria=BatchSealCriteria(blocks_per_batch_limit=1, batch_timeout=1.0),
            output=output,
            reactor=Clock(),
            genesis_batch=GENESIS,
            in_thread=thread,
        )
        chain.listeners = [batcher.block_stored]
        batcher.startService()
        self.addCleanup(batcher.stopService)
        self.assertEqual(thread.names(), ["facts"])
        thread.run_next()  # block 1 not stored yet: the batcher waits
        chain.store(1)
        chain.store(2)
        thread.run_next()  # facts of block 1
        thread.run_next()  # facts of block 2: over the limit, batch [1] is sealed
        self.assertEqual(thread.names(), ["_build_and_store"])
        self.assertIsNone(store.last_batch())
        self.assertEqual(len(output), 0)
        thread.run_next()
        self.assertEqual(store.last_batch().last_block_number, 1)
        self.assertEqual(len(output), 1)
        self.assertEqual(thread.names(), ["facts"])


class GaplessInThreadTests(SynchronousTestCase):
    def test_stored_in_thread_before_output(self):
        storage, output, thread = MemoryProofStorage(), BoundedQueue(10), ManualThread()
        source = BoundedQueue(10)
        committer = GaplessCommitter(
            input=source, output=output, proof_storage=storage, reactor=Clock(), in_thread=thread
        )
        committer.startService()
        self.addCleanup(committer.stopService)
        source.put(proved(2))
        source.put(proved(1))
        self.assertEqual(thread.names(), ["put"])
        self.assertEqual((storage.latest_batch(), len(output)), (None, 0))
        thread.run_next()
        self.assertEqual((storage.latest_batch(), len(output)), (1, 1))
        thread.run_all()
        self.assertEqual((storage.latest_batch(), len(output)), (2, 2))


class ExecuteFeederInThreadTests(SynchronousTestCase):
    def test_no_l1_transactions_no_storage_read(self):
        """A batch whose commit info counts no L1 transactions is not read from storage; one
        that has some is read in the thread, and the snapshot is saved there too."""
        reads = []

        def hashes(storage, first, last):
            reads.append((first, last))
            return [b"\x11" * 32]

        self.patch(l1_stages, "priority_tx_hashes", hashes)
        batches = [
            BatchEnvelope(
                replace(
                    e.batch,
                    commit_batch_info=replace(e.batch.commit_batch_info, number_of_layer1_txs=n),
                )
            )
            for e, n in zip(envelopes(2), (0, 1), strict=True)
        ]
        saved = []
        snapshots = SimpleNamespace(load=lambda: None, save=saved.append)
        source, target, thread = BoundedQueue(8), BoundedQueue(8), ManualThread()
        feeder = l1_stages.ExecuteFeeder(
            source,
            target,
            storage=None,
            batch_store=MemoryBatchStore(),
            last_executed=0,
            snapshots=snapshots,
            in_thread=thread,
        )
        feeder.startService()
        self.addCleanup(feeder.stopService)
        source.put(batches[0])
        self.assertEqual((thread.names(), len(target)), ([], 1))
        source.put(batches[1])
        self.assertEqual(thread.names(), ["hashes"])
        thread.run_next()
        self.assertEqual((reads, len(target)), ([(11, 20)], 2))
        done = feeder.executed(2)
        self.assertEqual((thread.names(), saved), (["append"], []))
        thread.run_next()
        self.successResultOf(done)
        self.assertEqual(len(saved), 1)


def sealed_block(number, receipts, version=3):
    """What ``BlockSummary.of`` reads of a ``SealedBlock``."""
    return SimpleNamespace(
        number=number,
        hash=bytes([number]) * 32,
        transactions=tuple(
            SimpleNamespace(tx_hash=bytes([number, i]) + bytes(30)) for i in range(len(receipts))
        ),
        receipts=tuple(StoredReceipt.decode(r) for r in receipts),
        context=SimpleNamespace(execution_version=version),
    )


class RememberedFactsTests(SynchronousTestCase):
    def test_remembered_equal_stored(self):
        """Facts of a block ``BlockMemory`` holds are those read back from storage."""
        storage = MemoryStorage()
        receipts = [receipt(True, 2), receipt(False, 5), receipt(True, 1)]
        write(storage, 1, receipts, 4)
        memory = BlockMemory()
        memory.block_stored(sealed_block(1, receipts, 4))
        from_storage = StorageBlockFacts(storage, pubdata_size=lambda n: 100 * n)
        remembered = StorageBlockFacts(storage, pubdata_size=lambda n: 100 * n, memory=memory)
        self.assertEqual(remembered(1), from_storage(1))
        self.assertIsInstance(memory.summary(1), BlockSummary)  # the block itself is dropped
        memory.forget_through(1)
        self.assertEqual(len(memory), 0)
        self.assertEqual(remembered(1), from_storage(1))  # read from storage again

    def test_bounded(self):
        memory = BlockMemory()
        for n in range(1, REMEMBERED_BLOCKS + 10):
            memory.block_stored(sealed_block(n, []))
        self.assertEqual(len(memory), REMEMBERED_BLOCKS)
        self.assertIsNone(memory.summary(1))
        self.assertIsNotNone(memory.summary(REMEMBERED_BLOCKS + 9))
