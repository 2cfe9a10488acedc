"""``FriJobs`` on a ``Clock``: pick order, min age, timeout and reassignment, the range limit,
real submits (verification, duplicates, late submits, backpressure) and fake submits."""

from prometheus_client import CollectorRegistry
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from tests.prover_api.helpers import WORKER, good_proof, sealed
from zkos_tw.interfaces import IFriProofVerifier
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.prover_api.attestation import AttestationVerifier
from zkos_tw.prover_api.fri_jobs import (
    FRI_PROVED_REAL,
    Backpressure,
    DeserializationFailed,
    FriJobs,
    ShuttingDown,
    UnknownBlock,
    VerificationFailed,
)
from zkos_tw.prover_api.metrics import ProverMetrics


class FriJobsTestBase(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.input = BoundedQueue(20)
        self.output = BoundedQueue(20)
        self.jobs = self.make()

    def make(self, **kw):
        kw.setdefault("verifier", AttestationVerifier([WORKER]))
        return FriJobs(input=self.input, output=self.output, clock=self.clock, **kw)

    def seal(self, *numbers, at=0.0):
        envs = [sealed(n, at) for n in numbers]
        for e in envs:
            self.input.put(e)
        return envs

    def submit(self, number, proof):
        return defer.ensureDeferred(self.jobs.submit(number, proof))

    def refused(self, d, kind):
        return self.failureResultOf(d, kind).value


class PickTests(FriJobsTestBase):
    def test_pick_in_order_and_status(self):
        """Picks take sealed batches in order; status lists them with whole seconds assigned."""
        self.seal(1, 2)
        self.assertEqual(self.jobs.pick().number, 1)
        self.clock.advance(7.9)
        self.assertEqual(self.jobs.pick().number, 2)
        self.assertIsNone(self.jobs.pick())
        self.clock.advance(1)
        self.assertEqual(self.jobs.status(), [(1, 8), (2, 1)])
        self.assertEqual(self.jobs.peek(2).number, 2)
        self.assertIsNone(self.jobs.peek(3))

    def test_min_age(self):
        """A pick with ``min_age`` 3 s leaves a 2.9 s old batch for real provers."""
        self.seal(1, at=0.0)
        self.clock.advance(2.9)
        self.assertIsNone(self.jobs.pick(min_age=3.0))
        self.assertAlmostEqual(self.jobs.head_ready_in(3.0), 0.1)
        self.assertEqual(self.jobs.pick(min_age=0.0).number, 1)

    def test_min_age_reached(self):
        self.seal(1, at=0.0)
        self.clock.advance(3.0)
        self.assertEqual(self.jobs.pick(min_age=3.0).number, 1)

    def test_timeout_reassigns_smallest(self):
        """After 300 s the smallest timed-out batch is given out again, its clock reset."""
        self.seal(1, 2, 3)
        self.jobs.pick()
        self.jobs.pick()
        self.clock.advance(300)
        self.assertEqual(self.jobs.pick().number, 3)  # 300 s is not yet older than the timeout
        self.clock.advance(0.5)
        self.assertEqual(self.jobs.pick().number, 1)
        self.assertEqual(self.jobs.pick().number, 2)
        self.assertIsNone(self.jobs.pick())
        self.assertEqual(self.jobs.status(), [(1, 0), (2, 0), (3, 0)])

    def test_max_assigned_batch_range(self):
        """With batches 1..11 assigned (range 10) nothing more is given out until 1 is done."""
        self.seal(*range(1, 13))
        for n in range(1, 12):
            self.assertEqual(self.jobs.pick().number, n)
        self.assertIsNone(self.jobs.pick())
        self.successResultOf(defer.ensureDeferred(self.jobs.submit_fake(1)))
        self.assertEqual(self.jobs.pick().number, 12)

    def test_range_limit_configurable(self):
        self.jobs = self.make(max_assigned_batch_range=1)
        self.seal(1, 2, 3)
        self.jobs.pick()
        self.jobs.pick()
        self.assertIsNone(self.jobs.pick())

    def test_prover_input_seam(self):
        """The served prover input comes from the injected function."""
        self.jobs = self.make(prover_input=lambda e: bytes([e.number]) * 4)
        self.seal(5)
        self.assertEqual(self.jobs.pick().prover_input, b"\x05" * 4)


class SubmitTests(FriJobsTestBase):
    def test_real_submit(self):
        """A good attestation moves the batch downstream with a real proof."""
        (env,) = self.seal(1)
        self.jobs.pick()
        self.clock.advance(4)
        proof = good_proof(env)
        self.successResultOf(self.submit(1, proof))
        out = self.successResultOf(self.output.get())
        self.assertEqual((out.number, out.fri_proof.fake, out.fri_proof.data), (1, False, proof))
        self.assertEqual(out.fri_proof.proving_execution_version, 3)
        self.assertEqual(out.stage_times[FRI_PROVED_REAL], 4.0)
        self.assertEqual(self.jobs.status(), [])

    def test_unassigned_is_unknown_block(self):
        (env,) = self.seal(1)
        e = self.refused(self.submit(1, good_proof(env)), UnknownBlock)
        self.assertEqual((e.code, str(e)), (404, "unknown block"))

    def test_late_duplicate_is_unknown_block(self):
        (env,) = self.seal(1)
        self.jobs.pick()
        self.successResultOf(self.submit(1, good_proof(env)))
        self.refused(self.submit(1, good_proof(env)), UnknownBlock)
        self.assertEqual(len(self.output), 1)

    def test_racing_duplicate_is_accepted_once(self):
        """Two submits verifying at once: both OK, one envelope downstream."""
        pending = []

        @implementer(IFriProofVerifier)
        class SlowVerifier:
            def verify(self, batch, proof):
                d = defer.Deferred()
                pending.append(d)
                return d

        self.jobs = self.make(verifier=SlowVerifier())
        (env,) = self.seal(1)
        self.jobs.pick()
        first, second = self.submit(1, b"a"), self.submit(1, b"b")
        for d in pending:
            d.callback(None)
        self.successResultOf(first)
        self.successResultOf(second)
        self.assertEqual(len(self.output), 1)
        self.assertEqual(self.successResultOf(self.output.get()).fri_proof.data, b"a")

    def test_undecodable(self):
        self.seal(1)
        self.jobs.pick()
        e = self.refused(self.submit(1, b"\xff not json"), DeserializationFailed)
        self.assertEqual(e.code, 400)
        self.assertTrue(str(e).startswith("deserialization failed: not JSON"), str(e))
        self.assertEqual(self.jobs.status(), [(1, 0)])

    def test_wrong_public_input(self):
        """One flipped bit of the public input: 400 ``proof verification failed``, job kept."""
        (env,) = self.seal(1)
        self.jobs.pick()
        proof = bytearray(good_proof(env))
        i = proof.index(b'"public_input":"0x') + len(b'"public_input":"0x')
        proof[i] = ord("0") if proof[i] != ord("0") else ord("1")
        e = self.refused(self.submit(1, bytes(proof)), VerificationFailed)
        self.assertEqual((e.code, str(e)), (400, "proof verification failed"))
        self.assertEqual(self.jobs.status(), [(1, 0)])

    def test_wrong_batch(self):
        """A proof of batch 2 submitted for batch 1 is refused."""
        envs = self.seal(1, 2)
        self.jobs.pick()
        self.jobs.pick()
        self.refused(self.submit(1, good_proof(envs[1])), VerificationFailed)

    def test_unknown_signer(self):
        (env,) = self.seal(1)
        self.jobs.pick()
        self.refused(self.submit(1, good_proof(env, key=b"\x01" * 32)), VerificationFailed)

    def test_backpressure_keeps_job(self):
        """With the output full: 500 ``downstream backpressure``; the job stays assigned."""
        self.output = BoundedQueue(1)
        self.jobs = self.make()
        self.output.put(sealed(99))
        (env,) = self.seal(1)
        self.jobs.pick()
        e = self.refused(self.submit(1, good_proof(env)), Backpressure)
        self.assertEqual((e.code, str(e)), (500, "downstream backpressure"))
        self.assertEqual(self.jobs.status(), [(1, 0)])
        self.successResultOf(self.output.get())
        self.successResultOf(self.submit(1, good_proof(env)))

    def test_shutting_down(self):
        (env,) = self.seal(1)
        self.jobs.pick()
        self.output.close()
        e = self.refused(self.submit(1, good_proof(env)), ShuttingDown)
        self.assertEqual(str(e), "server is shutting down")

    def test_fake_after_real_is_unknown(self):
        """A fake prover finishing after a real one proved the batch gets ``UnknownBlock``."""
        (env,) = self.seal(1)
        self.jobs.pick()
        self.successResultOf(self.submit(1, good_proof(env)))
        self.failureResultOf(defer.ensureDeferred(self.jobs.submit_fake(1)), UnknownBlock)


class FakePickTests(FriJobsTestBase):
    """Fake provers pick ``with_input=False``: no prover input is built for their jobs, and a
    real prover taking one over after its timeout waits for the input like a new job."""

    def setUp(self):
        super().setUp()
        self.asked: list[int] = []
        self.ready: dict[int, bytes] = {}

        def prover_input(envelope):
            self.asked.append(envelope.number)
            return self.ready.get(envelope.number)

        self.jobs = self.make(prover_input=prover_input, job_timeout=5.0)

    def test_fake_pick_builds_no_input(self):
        self.seal(1)
        job = self.jobs.pick(with_input=False)
        self.assertEqual((job.number, job.prover_input, self.asked), (1, b"", []))

    def test_real_takeover_waits_for_the_input(self):
        self.seal(1)
        self.jobs.pick(with_input=False)
        self.clock.advance(6)
        self.assertIsNone(self.jobs.pick())  # the input is being built
        self.assertEqual(self.asked, [1])
        self.assertEqual(self.jobs.status(), [(1, 6)])  # not reset: nobody took it yet
        self.ready[1] = b"\7\0\0\0"
        job = self.jobs.pick()
        self.assertEqual((job.number, job.prover_input), (1, b"\7\0\0\0"))
        self.assertEqual(self.jobs.status(), [(1, 0)])


class MetricsTests(FriJobsTestBase):
    """``ProverMetrics``: assignments by type, proving time since assignment, refusals."""

    def setUp(self):
        super().setUp()
        self.registry = CollectorRegistry()
        self.jobs = self.make(metrics=ProverMetrics(self.registry))

    def value(self, name, **labels):
        return self.registry.get_sample_value(name, labels)

    def test_counts(self):
        (env1, env2) = self.seal(1, 2)
        self.jobs.pick()
        self.jobs.pick(with_input=False)
        self.assertEqual(self.value("prover_jobs_assigned_total", stage="fri", type="real"), 1)
        self.assertEqual(self.value("prover_jobs_assigned_total", stage="fri", type="fake"), 1)
        self.refused(defer.ensureDeferred(self.jobs.submit(1, b"{")), DeserializationFailed)
        self.refused(
            defer.ensureDeferred(self.jobs.submit(1, good_proof(env2))), VerificationFailed
        )
        self.assertEqual(
            self.value("prover_rejected_proofs_total", stage="fri", reason="deserialization"), 1
        )
        self.assertEqual(
            self.value("prover_rejected_proofs_total", stage="fri", reason="verification"), 1
        )
        self.clock.advance(4)
        self.successResultOf(defer.ensureDeferred(self.jobs.submit(1, good_proof(env1), "w1")))
        labels = {"stage": "fri", "type": "real", "id": "w1"}
        self.assertEqual(self.value("prover_prove_time_seconds_sum", **labels), 4.0)
        self.assertEqual(self.value("prover_prove_time_seconds_count", **labels), 1)
        self.successResultOf(defer.ensureDeferred(self.jobs.submit_fake(2)))
        fake = {"stage": "fri", "type": "fake", "id": "fake_fri_prover"}
        self.assertEqual(self.value("prover_prove_time_seconds_count", **fake), 1)
        self.assertEqual(
            self.value("prover_prove_time_per_tx_seconds_sum", **labels),
            4.0 / env1.batch.tx_count,
        )
