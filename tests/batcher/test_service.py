"""``Batcher`` with a ``Clock``, an in-memory batch store and a fake ``build_info``: seals by
block count and by timeout, wakes on block notifications, restarts at the right block with the
same boundaries, re-sends unproved batches, and waits on a full output queue."""

from dataclasses import replace

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.batcher.envelopes import envelope, golden_envelope
from zkos_tw.batcher.info import StoredBatchInfo
from zkos_tw.batcher.seal import BatchSealCriteria
from zkos_tw.batcher.service import BATCH_SEALED, Batcher, BlockFacts, create_batcher
from zkos_tw.config import BatcherConfig
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.testing.memory_batch_store import MemoryBatchStore
from zkos_tw.testing.memory_proof_storage import MemoryProofStorage

GENESIS = StoredBatchInfo.genesis(b"\x01" * 32)


def fake_build_info(batch_number, first_block, last_block):
    """A CommitBatchInfo whose state commitment names its block range."""
    base = golden_envelope().batch.commit_batch_info
    return replace(
        base,
        batch_number=batch_number,
        new_state_commitment=first_block.to_bytes(16, "big") + last_block.to_bytes(16, "big"),
    )


class Chain:
    """Stored blocks as ``BlockFacts``; ``store(n)`` adds one and notifies the listeners."""

    def __init__(self):
        self.blocks = {}
        self.listeners = []

    def facts(self, number):
        return self.blocks.get(number)

    def store(self, number, **kw):
        self.blocks[number] = BlockFacts(number, kw.get("pubdata", 10), 0, kw.get("txs", 2))
        for listener in self.listeners:
            listener(None)


class BatcherTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.chain = Chain()
        self.store = MemoryBatchStore()
        self.output = BoundedQueue(100)

    def start(
        self,
        *,
        limit=3,
        timeout=1.0,
        output=None,
        resend_after=None,
        arm_from=0,
        build_info=fake_build_info,
    ):
        criteria = BatchSealCriteria(
            blocks_per_batch_limit=limit, batch_timeout=timeout, arm_timeout_from_block=arm_from
        )
        batcher = Batcher(
            block_facts=self.chain.facts,
            build_info=build_info,
            batch_store=self.store,
            criteria=criteria,
            output=self.output if output is None else output,
            reactor=self.clock,
            genesis_batch=GENESIS,
            resend_after=resend_after,
        )
        self.chain.listeners = [batcher.block_stored]
        batcher.startService()
        self.addCleanup(lambda: batcher.running and batcher.stopService())
        return batcher

    def drain(self, queue=None):
        queue = self.output if queue is None else queue
        items = []
        while len(queue):
            items.append(self.successResultOf(queue.get()))
        return items

    def ranges(self, envelopes):
        return [
            (e.number, e.batch.first_block_number, e.batch.last_block_number) for e in envelopes
        ]

    def test_seal_by_count(self):
        """With a limit of 3, blocks 1..7 make batches 1..=3 and 4..=6; 7 stays open."""
        self.start()
        for n in range(1, 8):
            self.chain.store(n)
        envelopes = self.drain()
        self.assertEqual(self.ranges(envelopes), [(1, 1, 3), (2, 4, 6)])
        self.assertEqual(envelopes[0].batch.tx_count, 6)
        self.assertEqual(envelopes[0].batch.previous_stored_batch_info, GENESIS)
        self.assertEqual(
            envelopes[1].batch.previous_stored_batch_info,
            envelopes[0].batch.commit_batch_info.stored(),
        )
        self.assertEqual(self.store.last_batch(), envelopes[1].batch)
        self.assertEqual(envelopes[0].stage_times, {BATCH_SEALED: 0.0})

    def test_seal_by_timeout_timer(self):
        """A lone block is sealed by the timer ``batch_timeout`` after it arrived, not before."""
        self.start(limit=10, timeout=1.0)
        self.clock.advance(5)
        self.chain.store(1)
        self.clock.advance(0.5)
        self.chain.store(2)
        self.clock.advance(0.4)
        self.assertEqual(self.drain(), [])
        self.clock.advance(0.1)
        envelopes = self.drain()
        self.assertEqual(self.ranges(envelopes), [(1, 1, 2)])
        self.assertEqual(envelopes[0].stage_times[BATCH_SEALED], 6.0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_timeout_on_block_arrival(self):
        """A block arriving after the timeout seals the batch with it in (``after``)."""
        self.start(limit=10, timeout=1.0)
        self.chain.store(1)
        self.clock.advance(2)  # timer seals batch 1 = [1]
        self.chain.store(2)
        self.clock.advance(0.3)
        self.chain.store(3)
        self.clock.advance(1)
        self.assertEqual(self.ranges(self.drain()), [(1, 1, 1), (2, 2, 3)])

    def test_no_poll_without_blocks(self):
        """Idle with an empty batch, the batcher schedules nothing."""
        self.start()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_restart_same_boundaries(self):
        """Stopped with blocks 10 and 11 in the open batch and restarted on the same store, the
        batcher starts at block 10 (the last stored batch's last block + 1) and seals exactly the
        batches of an uninterrupted run."""
        for n in range(1, 17):
            self.chain.store(n)
        uninterrupted = self.start()
        reference = self.drain()
        uninterrupted.stopService()
        reference_store, self.store = self.store, MemoryBatchStore()
        self.output = BoundedQueue(100)
        self.chain = Chain()
        for n in range(1, 12):
            self.chain.store(n)
        self.start().stopService()
        before = self.drain()
        self.assertEqual(self.ranges(before), [(1, 1, 3), (2, 4, 6), (3, 7, 9)])
        for n in range(12, 17):
            self.chain.store(n)
        restarted = self.start()
        self.assertEqual(self.ranges(self.drain()), [(4, 10, 12), (5, 13, 15)])
        self.assertEqual(restarted.next_block, 17)
        self.assertEqual(
            self.ranges(reference), [(1, 1, 3), (2, 4, 6), (3, 7, 9), (4, 10, 12), (5, 13, 15)]
        )
        for number in range(1, 6):
            self.assertEqual(self.store.batch(number), reference_store.batch(number))

    def test_restart_resends_unproved(self):
        """Batches stored above ``resend_after`` are put on the queue again before new ones."""
        for n in range(1, 10):
            self.chain.store(n)
        self.start().stopService()
        self.drain()
        self.output = BoundedQueue(100)
        self.start(resend_after=1)
        self.chain.store(10)
        self.chain.store(11)
        self.chain.store(12)
        self.chain.store(13)  # a fourth block seals 10..=12 (count > limit)
        self.assertEqual(self.ranges(self.drain()), [(2, 4, 6), (3, 7, 9), (4, 10, 12)])

    def test_backpressure(self):
        """With a full output queue the batcher waits: it reads no further block and stores no
        further batch until the queue has room."""
        queue = BoundedQueue(1)
        batcher = self.start(limit=1, output=queue)
        for n in range(1, 5):
            self.chain.store(n)
        # batch 1 in the queue, batch 2 stored and waiting in put, block 3 not read
        self.assertEqual(len(queue), 1)
        self.assertEqual(self.store.last_batch().number, 2)
        self.assertEqual(batcher.next_block, 3)
        self.assertEqual(self.successResultOf(queue.get()).number, 1)
        self.assertEqual(self.successResultOf(queue.get()).number, 2)
        self.assertEqual(self.successResultOf(queue.get()).number, 3)
        self.assertEqual(self.store.last_batch().number, 3)  # block 4 is the open batch
        self.assertEqual(batcher.next_block, 5)

    def test_stop_while_waiting_on_queue(self):
        """Stopping while ``put`` waits ends the loop cleanly (no failure recorded)."""
        queue = BoundedQueue(1)
        batcher = self.start(limit=1, output=queue)
        for n in range(1, 4):
            self.chain.store(n)
        batcher.stopService()
        self.assertIsNone(batcher.failure)

    def test_build_info_failure_recorded(self):
        """A failing ``build_info`` stops the batcher with the failure kept for health."""
        batcher = self.start(limit=1, build_info=lambda *a: 1 / 0)
        self.chain.store(1)
        self.chain.store(2)
        self.assertIsNotNone(batcher.failure)
        self.flushLoggedErrors(ZeroDivisionError)


class CreateBatcherTests(SynchronousTestCase):
    def test_from_config_after_restart(self):
        """``create_batcher`` takes the config's limits, arms the timeout from the storage's last
        block, and re-sends the stored batches that proof storage lacks."""

        class Storage:
            def last_block(self):
                return 40

        store = MemoryBatchStore()
        proofs = MemoryProofStorage()
        for number in (1, 2, 3):
            store.put(envelope(number, number * 2 - 1, number * 2).batch)
        proofs.put(envelope(1, 1, 2))
        output = BoundedQueue(10)
        chain = Chain()
        batcher = create_batcher(
            BatcherConfig(blocks_per_batch_limit=4, batch_timeout=2.0),
            storage=Storage(),
            batch_store=store,
            proof_storage=proofs,
            build_info=fake_build_info,
            block_facts=chain.facts,
            output=output,
            reactor=Clock(),
            genesis_batch=GENESIS,
        )
        criteria = batcher._criteria
        self.assertEqual((criteria.blocks_per_batch_limit, criteria.batch_timeout), (4, 2.0))
        self.assertEqual(criteria.arm_timeout_from_block, 40)
        batcher.startService()
        self.addCleanup(batcher.stopService)
        self.assertEqual([self.successResultOf(output.get()).number for _ in range(2)], [2, 3])
        self.assertEqual(batcher.next_block, 7)
