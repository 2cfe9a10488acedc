"""Tests for ``zkos_tw.metrics_l1``: the §5.6 stage latency histogram, the operator metrics and
the L1 batch gauges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from twisted.trial.unittest import SynchronousTestCase

from tests.l1.sender_fixtures import envelopes
from zkos_tw.l1.batch_watcher import BatchProgress
from zkos_tw.l1.senders import STAGES as SENDER_STAGES
from zkos_tw.metrics_l1 import STAGES, BatchProgressMetrics, L1SenderMetrics


class StageLatencyTests(SynchronousTestCase):
    def setUp(self):
        self.registry = CollectorRegistry()
        self.metrics = L1SenderMetrics(self.registry)
        (self.envelope,) = envelopes(1)

    def sample(self, name, **labels):
        return self.registry.get_sample_value(name, labels)

    def test_latency_since_sealed(self):
        """A stage reached 7 s after ``BatchSealed`` stamps the envelope and observes 7 s."""
        self.metrics.stage_reached(self.envelope, "BatchSealed", 100.0)
        self.metrics.stage_reached(self.envelope, "CommitL1TxMined", 107.0)
        self.assertEqual(self.envelope.stage_times["CommitL1TxMined"], 107.0)
        self.assertEqual(
            self.sample("batcher_execution_stages_seconds_sum", stage="CommitL1TxMined"), 7.0
        )
        self.assertIsNone(
            self.sample("batcher_execution_stages_seconds_count", stage="BatchSealed")
        )

    def test_batch_sealed_before_this_run_is_not_observed(self):
        """Without a ``BatchSealed`` time (sealed before a restart) the stage is stamped but
        not observed, so restarts do not skew the histogram."""
        self.metrics.stage_reached(self.envelope, "ExecuteL1TxMined", 50.0)
        self.assertEqual(self.envelope.stage_times, {"ExecuteL1TxMined": 50.0})
        self.assertIsNone(
            self.sample("batcher_execution_stages_seconds_count", stage="ExecuteL1TxMined")
        )

    def test_sender_stages_are_pipeline_stages(self):
        """Every stage a sender stamps is one of the §5.6 names, in pipeline order."""
        names = [name for pair in SENDER_STAGES.values() for name in pair]
        self.assertEqual(names, [s for s in STAGES if s.endswith(("TxSent", "TxMined"))])

    def test_operator(self):
        """``operator`` sets the address gauge, the balance in ETH and the nonce."""
        self.metrics.operator("prove", "0xAbc", 1.5, 7)
        self.assertEqual(
            self.sample(
                "l1_state_l1_operator_address", operation="prove", operator_address="0xAbc"
            ),
            1,
        )
        self.assertEqual(self.sample("l1_sender_balance", command="prove"), 1.5)
        self.assertEqual(self.sample("l1_sender_nonce", command="prove"), 7)


class BatchProgressMetricsTests(SynchronousTestCase):
    def test_follows_progress(self):
        """As a ``BatchProgress`` listener the gauges follow every batch and block number."""
        registry = CollectorRegistry()
        metrics = BatchProgressMetrics(registry)
        progress = BatchProgress(1, 0, 0, lambda n: 4 * n)
        progress.add_listener(metrics.update)
        progress.committed(3)
        progress.proved(2)
        progress.executed(1)

        def sample(name, status):
            return registry.get_sample_value(name, {"status": status})

        self.assertEqual(sample("l1_state_batch_number", "committed"), 3)
        self.assertEqual(sample("l1_state_batch_number", "proved"), 2)
        self.assertEqual(sample("l1_state_block_number", "committed"), 12)
        self.assertEqual(sample("l1_state_block_number", "executed"), 4)
