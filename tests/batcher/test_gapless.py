"""``GaplessCommitter``: out-of-order proofs come out in batch order and are stored first;
restart re-emits proved-not-committed batches and drops repeats."""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.batcher.envelopes import envelope
from zkos_tw.batcher.gapless import FRI_PROOF_STORED, GaplessCommitter
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.testing.memory_proof_storage import MemoryProofStorage


def proved(number):
    return envelope(number, number * 2 - 1, number * 2)


class GaplessTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.storage = MemoryProofStorage()
        self.input = BoundedQueue(20)
        self.output = BoundedQueue(20)

    def start(self, last_committed=0, output=None):
        committer = GaplessCommitter(
            input=self.input,
            output=self.output if output is None else output,
            proof_storage=self.storage,
            reactor=self.clock,
            last_committed=last_committed,
        )
        committer.startService()
        self.addCleanup(lambda: committer.running and committer.stopService())
        return committer

    def drain(self):
        out = []
        while len(self.output):
            out.append(self.successResultOf(self.output.get()).number)
        return out

    def test_reorders(self):
        """Batches 3, 1, 4, 2 come out as 1, 2, 3, 4, each stored in proof storage first."""
        committer = self.start()
        self.input.put(proved(3))
        self.input.put(proved(1))
        self.assertEqual(self.drain(), [1])
        self.assertEqual(self.storage.latest_batch(), 1)
        self.input.put(proved(4))
        self.assertEqual(self.drain(), [])
        self.input.put(proved(2))
        self.assertEqual(self.drain(), [2, 3, 4])
        self.assertEqual(self.storage.latest_batch(), 4)
        self.assertEqual(committer.next_expected, 5)

    def test_stage_time(self):
        """The released envelope carries its ``FriProofStored`` time."""
        self.start()
        self.clock.advance(7)
        self.input.put(proved(1))
        self.assertEqual(self.successResultOf(self.output.get()).stage_times[FRI_PROOF_STORED], 7)

    def test_restart_resumes_without_gaps_or_repeats(self):
        """After a restart with batches 1..=3 stored and 1 committed on L1, 2 and 3 are
        re-emitted, repeats of 2 and 3 are dropped and 4 follows."""
        first = self.start()
        for n in (1, 2, 3):
            self.input.put(proved(n))
        self.drain()
        first.stopService()
        self.start(last_committed=1)
        self.assertEqual(self.drain(), [2, 3])
        for n in (3, 2, 5, 4):
            self.input.put(proved(n))
        self.assertEqual(self.drain(), [4, 5])

    def test_nothing_stored_starts_after_l1(self):
        """With empty proof storage the first expected batch is L1's last committed + 1."""
        committer = self.start(last_committed=6)
        self.assertEqual(committer.next_expected, 7)
        self.input.put(proved(7))
        self.assertEqual(self.drain(), [7])

    def test_backpressure(self):
        """A full output makes the committer wait; it takes no further input until there is
        room."""
        output = BoundedQueue(1)
        self.start(output=output)
        for n in (1, 2, 3):
            self.input.put(proved(n))
        self.assertEqual(len(output), 1)
        self.assertEqual(len(self.input), 1)  # 3 still waiting; 2 is being put
        self.assertEqual([self.successResultOf(output.get()).number for _ in range(3)], [1, 2, 3])
