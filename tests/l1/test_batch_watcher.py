"""Tests for ``zkos_tw.l1.batch_watcher``: committed / proved / executed batches and the blocks
``safe`` and ``finalized`` stand for."""

from twisted.trial.unittest import SynchronousTestCase

from tests.l1.helpers import FakeL1
from zkos_tw.l1.batch_watcher import (
    BLOCK_COMMIT_TOPIC,
    BLOCK_EXECUTION_TOPIC,
    BLOCKS_VERIFICATION_TOPIC,
    BatchProgress,
    BatchProgressWatcher,
)

# batch n ends with block 3n (batch 0 is genesis, block 0).
LAST_BLOCKS = {n: 3 * n for n in range(20)}


class BatchProgressTests(SynchronousTestCase):
    def test_numbers_only_move_forward(self):
        """A lower batch number than the one held changes nothing; a higher one moves the batch
        and its block and tells the listeners."""
        progress = BatchProgress(2, 1, 1, LAST_BLOCKS.get)
        seen = []
        progress.add_listener(lambda p: seen.append(p.as_json()))
        self.assertEqual((progress.last_committed_block, progress.last_executed_block), (6, 3))
        progress.committed(1)
        progress.executed(0)
        self.assertEqual(seen, [])
        progress.committed(5)
        progress.executed(4)
        self.assertEqual(progress.last_committed_block, 15)
        self.assertEqual(progress.last_executed_block, 12)
        self.assertEqual(len(seen), 2)

    def test_unknown_batch_keeps_its_number_until_the_store_knows_it(self):
        """A batch the store cannot map yet moves the batch counter, not the block; the block
        follows on refresh once the store knows the batch."""
        known = {0: 0, 1: 3}
        progress = BatchProgress(1, 1, 1, known.get)
        progress.committed(2)
        self.assertEqual((progress.last_committed_batch, progress.last_committed_block), (2, 3))
        known[2] = 6
        self.assertTrue(progress.refresh_blocks())
        self.assertEqual(progress.last_committed_block, 6)
        self.assertFalse(progress.refresh_blocks())


class WatcherTests(SynchronousTestCase):
    def setUp(self):
        self.chain = FakeL1()
        self.chain.height = 10
        self.chain.batches = (3, 2, 1)
        self.client, self.clock = self.chain.client()
        self.progress = BatchProgress(last_block_of_batch=LAST_BLOCKS.get)
        self.watcher = BatchProgressWatcher(
            self.client, FakeL1.DIAMOND, self.progress, clock=self.clock, max_blocks=5
        )

    def turn(self, polls=1):
        for _ in range(polls):
            for _ in range(50):
                self.client._stub.flush()
            self.clock.advance(0.1)

    def test_starts_from_the_counters_then_follows_events(self):
        """On start the L1 counters set the batches; later BlockCommit, BlocksVerification and
        BlockExecution events move them, read in ranges of at most max_blocks."""
        self.watcher.startService()
        self.turn()
        self.assertEqual(
            (self.progress.last_committed_batch, self.progress.last_proved_batch),
            (3, 2),
        )
        self.assertEqual(self.progress.last_executed_block, 3)
        self.chain.add_batch_event(BLOCK_COMMIT_TOPIC, 12, 4, 0xAA, 0xBB)
        self.chain.add_batch_event(BLOCKS_VERIFICATION_TOPIC, 14, 2, 4)
        self.chain.add_batch_event(BLOCK_EXECUTION_TOPIC, 23, 2, 0xAA, 0xBB)
        self.turn(3)
        self.assertEqual(self.progress.as_json()["lastCommittedBatch"], 4)
        self.assertEqual(self.progress.last_committed_block, 12)
        self.assertEqual(self.progress.last_proved_batch, 4)
        self.assertEqual(self.progress.last_executed_batch, 2)
        self.assertEqual(self.progress.last_executed_block, 6)
        self.assertEqual(self.watcher.next_l1_block, 24)
        self.assertTrue(all(high - low < 5 for low, high in self.chain.log_ranges))
        self.watcher.stopService()

    def test_l1_outage_is_retried(self):
        """While L1 is down nothing moves and the watcher keeps trying; afterwards it goes on."""
        self.chain.down = True
        self.watcher.startService()
        self.turn(3)
        self.assertEqual(self.progress.last_committed_batch, 0)
        self.chain.down = False
        self.clock.advance(5)
        self.turn(2)
        self.assertEqual(self.progress.last_committed_batch, 3)
        self.watcher.stopService()

    def test_other_events_are_ignored(self):
        """Logs of other diamond-proxy events (priority requests) change nothing."""
        self.watcher.startService()
        self.turn()
        self.chain.add_batch_event(b"\x11" * 32, 12, 9)
        self.turn(2)
        self.assertEqual(self.progress.last_committed_batch, 3)
        self.watcher.stopService()
