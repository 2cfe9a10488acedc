"""Percentiles, error grouping and the result JSON of a load run."""

from collections import Counter

from twisted.trial.unittest import TestCase

from zkos_tw.load.stats import RESULT_VERSION, RunRecord, error_key, percentile


class PercentileTests(TestCase):
    def test_linear_interpolation(self):
        """numpy's default method: rank (n - 1) * q, interpolated."""
        values = [1.0, 2.0, 3.0, 4.0]
        self.assertEqual(percentile(values, 0.5), 2.5)
        self.assertEqual(percentile(values, 0.0), 1.0)
        self.assertEqual(percentile(values, 1.0), 4.0)
        self.assertAlmostEqual(percentile(values, 0.99), 3.97)
        self.assertAlmostEqual(percentile(list(range(101)), 0.99), 99.0)

    def test_order_does_not_matter(self):
        self.assertEqual(percentile([5, 1, 3], 0.5), 3)

    def test_one_and_none(self):
        self.assertEqual(percentile([7.0], 0.99), 7.0)
        self.assertIsNone(percentile([], 0.5))

    def test_fraction_range(self):
        self.assertRaises(ValueError, percentile, [1.0], 1.5)


class ErrorKeyTests(TestCase):
    def test_hashes_and_numbers(self):
        message = (
            "[0x" + "12" * 32 + "]: transaction nonce is not consistent: next nonce 5, tx nonce 3"
        )
        self.assertEqual(
            error_key(message),
            "[<hash>]: transaction nonce is not consistent: next nonce <n>, tx nonce <n>",
        )

    def test_plain_message_kept(self):
        self.assertEqual(error_key("HTTP: connection lost"), "HTTP: connection lost")


class ResultTests(TestCase):
    def record(self) -> RunRecord:
        record = RunRecord(chain_id=270, senders=4, planned=6, batch_size=2, connections=1)
        record.submit_started = 100.0
        record.submit_finished = 100.5
        record.accepted = 5
        record.last_included = 102.0
        record.inclusion_latencies = [0.1, 0.2, 0.3, 0.4]
        record.block_number_latencies = [0.001, 0.003]
        record.blocks = {7: 3, 9: 1}
        record.block_sizes = {7: 10, 9: 1}
        record.block_seen = {6: 100.0, 7: 100.5, 8: 100.7, 9: 101.3, 10: 101.4}
        record.errors = Counter({"[<hash>]: nonce too low": 1})
        record.client_cpu_seconds = 0.25
        return record

    def test_rates_and_latencies(self):
        """TPS over the submit and include windows; latencies in ms."""
        result = self.record().result()
        self.assertEqual(result["version"], RESULT_VERSION)
        self.assertEqual(result["submitted_tps"], 10.0)  # 5 in 0.5 s
        self.assertEqual(result["included_tps"], 2.0)  # 4 in 2 s
        self.assertEqual(result["included"], 4)
        self.assertEqual(result["not_included"], 1)
        self.assertEqual(result["rejected"], 1)
        self.assertEqual(result["inclusion_latency_ms"], {"p50": 250.0, "p99": 397.0, "max": 400.0})
        self.assertEqual(result["block_number_latency_ms"]["p50"], 2.0)
        self.assertEqual(result["block_number_latency_ms"]["samples"], 2)
        self.assertEqual(
            result["blocks"],
            {
                "with_our_txs": 2,
                "first": 7,
                "last": 9,
                "span": 3,
                "avg_txs_per_block": 2.0,
                "max_txs_per_block": 10,
                # blocks 7..9 seen at 100.5, 100.7, 101.3: intervals 0.2 and 0.6 s
                "interval_ms": {"avg": 400.0, "p50": 400.0, "max": 600.0},
            },
        )
        self.assertEqual(result["errors"], {"[<hash>]: nonce too low": 1})
        self.assertEqual(result["client_cpu_seconds"], 0.25)

    def test_empty_run(self):
        """Nothing happened: counts are zero and rates null, not a division error."""
        result = RunRecord().result()
        self.assertIsNone(result["included_tps"])
        self.assertIsNone(result["submitted_tps"])
        self.assertIsNone(result["inclusion_latency_ms"]["p50"])
        self.assertEqual(result["blocks"]["with_our_txs"], 0)
        self.assertIsNone(result["blocks"]["avg_txs_per_block"])
        self.assertEqual(result["blocks"]["interval_ms"], {"avg": None, "p50": None, "max": None})

    def test_record_error_groups(self):
        record = RunRecord()
        record.record_error("[0x" + "aa" * 32 + "]: already imported")
        record.record_error("[0x" + "bb" * 32 + "]: already imported")
        self.assertEqual(dict(record.errors), {"[<hash>]: already imported": 2})
