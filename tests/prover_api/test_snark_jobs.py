"""``SnarkJobs``: fake FRI heads become fake SNARK commands, real ranges are peeked (not taken)
and cut at version changes, and submits check the range with the reference's texts."""

from dataclasses import replace

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.batcher.envelopes import envelope
from zkos_tw.batcher.info import Proof
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.prover_api.snark_jobs import SnarkJobs, SnarkProofRejected


def committed(number, fake=False, version=3):
    e = envelope(number, number, number, fake=fake)
    return e if fake else replace(e, fri_proof=Proof(False, bytes([number]) * 3, version))


class SnarkJobsTests(SynchronousTestCase):
    def setUp(self):
        self.input = BoundedQueue(20)
        self.output = BoundedQueue(20)
        self.jobs = SnarkJobs(input=self.input, output=self.output, clock=Clock())

    def queue(self, *envelopes):
        for e in envelopes:
            self.input.put(e)

    def pick(self):
        batches = self.successResultOf(defer.ensureDeferred(self.jobs.pick_real_job()))
        return None if batches is None else [e.number for e in batches]

    def submit(self, first, last, proof=b"snark"):
        return defer.ensureDeferred(self.jobs.submit_proof(first, last, proof))

    def commands(self):
        out = []
        while len(self.output):
            c = self.successResultOf(self.output.get())
            out.append((c.first, c.last, c.proof.fake))
        return out

    def test_fake_head_becomes_fake_commands(self):
        """Twelve fake FRI batches become commands of ten and two; the real one is offered."""
        self.queue(*[committed(n, fake=True) for n in range(1, 13)], committed(13))
        self.assertEqual(self.pick(), [13])
        self.assertEqual(self.commands(), [(1, 10, True), (11, 12, True)])

    def test_peek_does_not_take(self):
        """Two picks get the same range; nothing leaves the queue."""
        self.queue(committed(1), committed(2))
        self.assertEqual(self.pick(), [1, 2])
        self.assertEqual(self.pick(), [1, 2])
        self.assertEqual(len(self.input), 2)

    def test_range_stops_at_fake_and_version(self):
        self.queue(committed(1), committed(2, version=2), committed(3))
        self.assertEqual(self.pick(), [1])
        self.input = BoundedQueue(20)
        self.jobs.input = self.input
        self.queue(committed(1), committed(2), committed(3, fake=True))
        self.assertEqual(self.pick(), [1, 2])

    def test_range_at_most_max_fris(self):
        self.queue(*[committed(n) for n in range(1, 13)])
        self.assertEqual(self.pick(), list(range(1, 11)))

    def test_empty(self):
        self.assertIsNone(self.pick())

    def test_submit(self):
        """A good range leaves the queue in one real command carrying the proof."""
        self.queue(committed(1), committed(2), committed(3))
        self.successResultOf(self.submit(1, 2))
        command = self.successResultOf(self.output.get())
        self.assertEqual((command.first, command.last), (1, 2))
        self.assertEqual((command.proof.fake, command.proof.data), (False, b"snark"))
        self.assertEqual(command.proof.proving_execution_version, 3)
        self.assertEqual(self.input.peek().number, 3)

    def test_submit_nothing_pending(self):
        e = self.failureResultOf(self.submit(1, 1), SnarkProofRejected).value
        self.assertEqual(str(e), "No pending batches to prove")

    def test_submit_wrong_first(self):
        self.queue(committed(3), committed(4))
        e = self.failureResultOf(self.submit(4, 4), SnarkProofRejected).value
        self.assertEqual(str(e), "Batch range error. Expected first batch: 3, received: 4-4")
        self.assertEqual(len(self.input), 2)

    def test_submit_backwards_range(self):
        self.queue(committed(3))
        e = self.failureResultOf(self.submit(3, 2), SnarkProofRejected).value
        self.assertEqual(str(e), "Batch range error. Expected first batch: 3, received: 3-2")

    def test_submit_past_queued(self):
        """Asking for more batches than are queued is refused and takes nothing."""
        self.queue(committed(3), committed(4))
        e = self.failureResultOf(self.submit(3, 5), SnarkProofRejected).value
        self.assertIn("Batch range error", str(e))
        self.assertEqual(len(self.input), 2)
