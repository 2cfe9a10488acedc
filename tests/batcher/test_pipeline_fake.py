"""The batcher, the fake FRI provers and the gapless committer chained by bounded queues, on a
``Clock``: every block ends up in exactly one batch, released in order with the reference's
fake-prover timing, and proof storage holds each batch."""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.batcher.test_service import GENESIS, Chain, fake_build_info
from zkos_tw.batcher.fake_provers import FakeFriProvers
from zkos_tw.batcher.gapless import FRI_PROOF_STORED, GaplessCommitter
from zkos_tw.batcher.seal import BatchSealCriteria
from zkos_tw.batcher.service import BATCH_SEALED, Batcher
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.testing.memory_batch_store import MemoryBatchStore
from zkos_tw.testing.memory_proof_storage import MemoryProofStorage


class FakePipelineTests(SynchronousTestCase):
    def test_blocks_to_ordered_proved_batches(self):
        """25 blocks (limit 10, timeout 1 s) make batches 1..=3 covering blocks 1..=25 with no
        gap; each is released 5 s after sealing (3 s min age + 2 s compute) and stored."""
        clock = Clock()
        chain = Chain()
        sealed, proved, committed = BoundedQueue(2), BoundedQueue(10), BoundedQueue(10)
        proofs = MemoryProofStorage()
        batcher = Batcher(
            block_facts=chain.facts,
            build_info=fake_build_info,
            batch_store=MemoryBatchStore(),
            criteria=BatchSealCriteria(blocks_per_batch_limit=10, batch_timeout=1.0),
            output=sealed,
            reactor=clock,
            genesis_batch=GENESIS,
        )
        chain.listeners = [batcher.block_stored]
        services = [
            batcher,
            FakeFriProvers(input=sealed, output=proved, reactor=clock),
            GaplessCommitter(input=proved, output=committed, proof_storage=proofs, reactor=clock),
        ]
        for service in services:
            service.startService()
            self.addCleanup(service.stopService)
        for n in range(1, 26):
            chain.store(n)
            clock.advance(0.01)
        clock.pump([0.1] * 100)
        out = [self.successResultOf(committed.get()) for _ in range(len(committed))]
        ranges = [(e.number, e.batch.first_block_number, e.batch.last_block_number) for e in out]
        self.assertEqual(ranges, [(1, 1, 10), (2, 11, 20), (3, 21, 25)])
        for e in out:
            latency = e.stage_times[FRI_PROOF_STORED] - e.stage_times[BATCH_SEALED]
            # two timers, each fired up to one 0.1 s pump step late
            self.assertGreaterEqual(latency, 5.0)
            self.assertLessEqual(latency, 5.21)
            self.assertEqual(proofs.get(e.number).batch, e.batch)
