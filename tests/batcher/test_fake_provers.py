"""The fake FRI and SNARK provers with a ``Clock``: min age, compute time, parallel workers,
SNARK max age and grouping, and the config switches."""

from dataclasses import replace

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.batcher.envelopes import envelope
from zkos_tw.batcher.fake_provers import (
    FRI_PROVED_FAKE,
    FRI_PROVER_PICKED,
    FakeFriProvers,
    FakeSnarkProver,
    create_fake_provers_from_config,
)
from zkos_tw.batcher.info import BatchEnvelope, Proof
from zkos_tw.batcher.service import BATCH_SEALED
from zkos_tw.config import ProverApiConfig
from zkos_tw.pipeline import BoundedQueue


def sealed(number, at):
    return BatchEnvelope(envelope(number, number, number).batch, stage_times={BATCH_SEALED: at})


def committed(number, first_block_timestamp, fake=True):
    e = envelope(number, number, number, fake=fake)
    info = replace(e.batch.commit_batch_info, first_block_timestamp=first_block_timestamp)
    return BatchEnvelope(replace(e.batch, commit_batch_info=info), e.fri_proof)


class FakeFriTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.input = BoundedQueue(10)
        self.output = BoundedQueue(10)

    def start(self, **kw):
        provers = FakeFriProvers(input=self.input, output=self.output, reactor=self.clock, **kw)
        provers.startService()
        self.addCleanup(provers.stopService)
        return provers

    def test_min_age_and_compute_time(self):
        """A batch sealed at t=0 is picked at 3 s and proved (fake) at 5 s, not before."""
        self.start(workers=1)
        self.input.put(sealed(1, 0.0))
        self.clock.advance(3)  # Clock.advance jumps then fires: step to each deadline
        self.clock.advance(1.9)
        self.assertEqual(len(self.output), 0)
        self.clock.advance(0.1)
        proved = self.successResultOf(self.output.get())
        self.assertEqual(proved.fri_proof, Proof.fake_proof())
        self.assertEqual(proved.stage_times[FRI_PROVER_PICKED], 3.0)
        self.assertEqual(proved.stage_times[FRI_PROVED_FAKE], 5.0)

    def test_old_batch_no_extra_wait(self):
        """A batch already older than the min age is only computed (2 s)."""
        self.start(workers=1)
        self.clock.advance(10)
        self.input.put(sealed(1, 0.0))
        self.clock.advance(2)
        self.assertEqual(len(self.output), 1)

    def test_workers_in_parallel(self):
        """Five workers prove five batches at once; a sixth waits for a free worker."""
        self.start(workers=5)
        for n in range(1, 7):
            self.input.put(sealed(n, 0.0))
        self.clock.pump([3, 2])
        self.assertEqual(len(self.output), 5)
        self.clock.advance(2)
        self.assertEqual(len(self.output), 6)

    def test_full_output_blocks_worker(self):
        """A worker whose output is full takes no further batch."""
        self.output = BoundedQueue(1)
        self.start(workers=1)
        for n in (1, 2, 3):
            self.input.put(sealed(n, 0.0))
        self.clock.pump([0.5] * 200)
        self.assertEqual(len(self.output), 1)
        self.assertEqual(len(self.input), 1)  # 2 is proved and waiting in put


class FakeSnarkTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.input = BoundedQueue(20)
        self.output = BoundedQueue(20)

    def start(self, **kw):
        prover = FakeSnarkProver(input=self.input, output=self.output, reactor=self.clock, **kw)
        prover.startService()
        self.addCleanup(prover.stopService)
        return prover

    def commands(self):
        out = []
        while len(self.output):
            c = self.successResultOf(self.output.get())
            out.append((c.first, c.last, c.proof.fake))
        return out

    def test_waits_for_max_age(self):
        """Nothing is proved until the head's first block is 10 s old (checked every second)."""
        self.clock.advance(100)
        self.start()
        self.input.put(committed(1, 95))
        self.clock.advance(4)
        self.assertEqual(self.commands(), [])
        self.clock.advance(1)
        self.assertEqual(self.commands(), [(1, 1, True)])

    def test_groups_of_max_fris(self):
        """Twelve old batches become fake SNARK commands of ten and two."""
        self.clock.advance(100)
        for n in range(1, 13):
            self.input.put(committed(n, 50))
        self.start()
        self.assertEqual(self.commands(), [(1, 10, True), (11, 12, True)])

    def test_real_young_batch_stops_group(self):
        """Behind an old head, fake proofs are taken but a young real-FRI batch is not."""
        self.clock.advance(100)
        self.input.put(committed(1, 50))
        self.input.put(committed(2, 99))
        self.input.put(committed(3, 99, fake=False))
        self.start()
        self.assertEqual(self.commands(), [(1, 2, True)])
        self.assertEqual(self.input.peek().number, 3)
        self.clock.advance(10)
        self.assertEqual(self.commands(), [(3, 3, True)])


class SwitchTests(SynchronousTestCase):
    def make(self, **kw):
        q = BoundedQueue(1)
        config = ProverApiConfig(**kw)
        return create_fake_provers_from_config(
            config, reactor=Clock(), fri_input=q, fri_output=q, snark_input=q, snark_output=q
        )

    def test_both_enabled_by_default(self):
        """The reference's defaults: both fake provers, with the reference's timings."""
        services = {s.name: s for s in self.make()}
        self.assertEqual(set(services), {"fake-fri-provers", "fake-snark-prover"})
        fri = services["fake-fri-provers"]
        self.assertEqual((fri.workers, fri.compute_time, fri.min_age), (5, 2.0, 3.0))
        self.assertEqual(services["fake-snark-prover"].max_batch_age, 10.0)

    def test_switches(self):
        """Each ``..._enabled`` switch leaves its prover out."""
        self.assertEqual(
            [s.name for s in self.make(fake_fri_provers_enabled=False)], ["fake-snark-prover"]
        )
        self.assertEqual(
            [s.name for s in self.make(fake_snark_provers_enabled=False)], ["fake-fri-provers"]
        )
