"""Tests for the batch seal criteria (zksync-os-server.md §6.2)."""

from prometheus_client import CollectorRegistry
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.batcher import seal
from zkos_tw.batcher.seal import BatchSealCriteria, SealDecision
from zkos_tw.config import BatcherConfig

NONE = SealDecision()


class SealCriteriaTests(SynchronousTestCase):
    def setUp(self):
        self.registry = CollectorRegistry()
        self.criteria = BatchSealCriteria(registry=self.registry)

    def count(self, reason):
        value = self.registry.get_sample_value("batcher_seal_reason_total", {"seal_reason": reason})
        return value or 0

    def test_blocks_per_batch_boundary(self):
        """Ten blocks fit; the eleventh seals the batch before it and starts the next one."""
        for _ in range(10):
            self.assertEqual(self.criteria.add_block(0, 0, 3, 0.0), NONE)
        self.assertEqual(self.criteria.add_block(0, 0, 3, 0.0), SealDecision(seal.BLOCKS_PER_BATCH))
        self.assertEqual(self.criteria.blocks, 1)
        self.assertEqual(self.count(seal.BLOCKS_PER_BATCH), 1)

    def test_configured_blocks_limit(self):
        """``batcher_blocks_per_batch_limit`` 1 seals before every block but the first."""
        criteria = BatchSealCriteria(blocks_per_batch_limit=1)
        self.assertEqual(criteria.add_block(0, 0, 3, 0.0), NONE)
        self.assertEqual(criteria.add_block(0, 0, 3, 0.0).before, seal.BLOCKS_PER_BATCH)

    def test_pubdata_boundary(self):
        """Exactly 110,000 bytes fit; one more byte seals before the block."""
        self.assertEqual(self.criteria.add_block(100_000, 0, 3, 0.0), NONE)
        self.assertEqual(self.criteria.add_block(10_000, 0, 3, 0.0), NONE)
        self.assertEqual(self.criteria.add_block(1, 0, 3, 0.0), SealDecision(seal.PUBDATA))
        self.assertEqual(self.criteria.pubdata, 1)
        self.assertEqual(self.count(seal.PUBDATA), 1)

    def test_logs_boundary(self):
        """Exactly 16,384 L2->L1 logs fit; one more seals before the block."""
        self.assertEqual(self.criteria.add_block(0, 16_000, 3, 0.0), NONE)
        self.assertEqual(self.criteria.add_block(0, 384, 3, 0.0), NONE)
        self.assertEqual(self.criteria.add_block(0, 1, 3, 0.0), SealDecision(seal.L2_L1_LOGS))
        self.assertEqual(self.count(seal.L2_L1_LOGS), 1)

    def test_oversized_single_block(self):
        """A block that alone exceeds a limit is not put in an empty batch: it seals after it."""
        decision = self.criteria.add_block(110_001, 0, 3, 0.0)
        self.assertEqual(decision, SealDecision(None, seal.PUBDATA))
        self.assertEqual(self.criteria.blocks, 0)

    def test_execution_version_change(self):
        """A block of another execution version seals the batch before it; the same does not."""
        self.assertEqual(self.criteria.add_block(0, 0, 3, 0.0), NONE)
        self.assertEqual(self.criteria.add_block(0, 0, 3, 0.0), NONE)
        decision = self.criteria.add_block(0, 0, 4, 0.0)
        self.assertEqual(decision, SealDecision(seal.EXECUTION_VERSION_CHANGE))
        self.assertEqual(self.criteria.execution_version, 4)

    def test_timeout_boundary(self):
        """The timeout counts from the batch's first block: just under 1 s no, at 1 s after."""
        self.assertEqual(self.criteria.add_block(0, 0, 3, 5.0), NONE)
        self.assertEqual(self.criteria.add_block(0, 0, 3, 5.999), NONE)
        self.assertEqual(self.criteria.add_block(0, 0, 3, 6.0), SealDecision(None, seal.TIMEOUT))
        self.assertEqual(self.count(seal.TIMEOUT), 1)
        self.assertEqual(self.criteria.add_block(0, 0, 3, 6.5), NONE)
        self.assertEqual(self.criteria.first_block_time, 6.5)

    def test_seal_on_timeout(self):
        """The timer path seals only a non-empty batch whose first block is 1 s old."""
        self.assertIsNone(self.criteria.seal_on_timeout(100.0))
        self.criteria.add_block(0, 0, 3, 10.0)
        self.assertIsNone(self.criteria.seal_on_timeout(10.5))
        self.assertEqual(self.criteria.seal_on_timeout(11.0), seal.TIMEOUT)
        self.assertEqual(self.criteria.blocks, 0)
        self.assertFalse(self.criteria.timed_out(20.0))

    def test_without_registry(self):
        """Without a registry the criteria work and count nothing."""
        criteria = BatchSealCriteria(batch_timeout=0.0)
        self.assertEqual(criteria.add_block(0, 0, 3, 0.0).after, seal.TIMEOUT)

    def test_from_config(self):
        """The criteria take the blocks limit and timeout of a ``BatcherConfig``."""
        criteria = BatchSealCriteria.from_config(
            BatcherConfig(batch_timeout=2.5, blocks_per_batch_limit=3)
        )
        self.assertEqual((criteria.batch_timeout, criteria.blocks_per_batch_limit), (2.5, 3))
        defaults = BatchSealCriteria.from_config(BatcherConfig())
        self.assertEqual((defaults.batch_timeout, defaults.blocks_per_batch_limit), (1.0, 10))

    def test_native_cycles_boundary(self):
        """With a native limit, Σ computational native above it seals before the block."""
        criteria = BatchSealCriteria(native_limit=100)
        self.assertEqual(criteria.add_block(0, 0, 3, 0.0, computational_native=60), NONE)
        self.assertEqual(criteria.add_block(0, 0, 3, 0.0, computational_native=40), NONE)
        decision = criteria.add_block(0, 0, 3, 0.0, computational_native=1)
        self.assertEqual(decision, SealDecision(seal.NATIVE_CYCLES))
        self.assertEqual(criteria.native, 1)

    def test_native_cycles_off_by_default(self):
        """Without a native limit, computational native never seals a batch."""
        self.assertEqual(self.criteria.add_block(0, 0, 3, 0.0, computational_native=2**40), NONE)

    def test_timeout_armed_from_startup_block(self):
        """Replayed blocks below the startup block do not start the timeout; the first one at or
        above it does."""
        criteria = BatchSealCriteria(arm_timeout_from_block=5)
        self.assertEqual(criteria.add_block(0, 0, 3, 0.0, block_number=3), NONE)
        self.assertEqual(criteria.add_block(0, 0, 3, 9.0, block_number=4), NONE)
        self.assertIsNone(criteria.seal_on_timeout(20.0))
        self.assertEqual(criteria.add_block(0, 0, 3, 30.0, block_number=5), NONE)
        self.assertEqual(criteria.first_block_time, 30.0)
        self.assertEqual(criteria.seal_on_timeout(31.0), seal.TIMEOUT)
