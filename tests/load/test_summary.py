"""The summary of several same-run comparisons (``benchmarks/load.py --runs N``)."""

from twisted.trial.unittest import TestCase

from zkos_tw.load.summary import add_ratios, spread, summarize_runs


def peer(tps, p99, block_p99, cpu):
    """A peer's result as ``benchmarks/load.py`` prints it, the summed fields only."""
    return {
        "included_tps": tps,
        "inclusion_latency_ms": {"p50": 1.0, "p99": p99, "max": 2 * (p99 or 0)},
        "block_number_latency_ms": {"samples": 10, "p50": 1.0, "p99": block_p99},
        "peer_cpu_us_per_tx": cpu,
    }


class SpreadTests(TestCase):
    def test_odd_count(self):
        """Median of an odd count is the middle value; values kept in run order."""
        self.assertEqual(
            spread([0.9, 0.5, 1.2]),
            {"median": 0.9, "min": 0.5, "max": 1.2, "n": 3, "values": [0.9, 0.5, 1.2]},
        )

    def test_even_count(self):
        """Median of an even count is the mean of the middle two."""
        result = spread([4, 1, 3, 2])
        self.assertEqual(result["median"], 2.5)
        self.assertEqual((result["min"], result["max"]), (1, 4))

    def test_integer_median_stays_integer(self):
        self.assertEqual(spread([300, 250, 275])["median"], 275)

    def test_float_median_rounded(self):
        self.assertEqual(spread([0.1234, 0.5678])["median"], 0.346)

    def test_missing_values_left_out(self):
        """A run without the value does not count, but stays visible in ``values``."""
        result = spread([None, 2.0, 4.0])
        self.assertEqual(result["median"], 3.0)
        self.assertEqual(result["n"], 2)
        self.assertEqual(result["values"], [None, 2.0, 4.0])

    def test_nothing(self):
        self.assertEqual(
            spread([None, None]),
            {"median": None, "min": None, "max": None, "n": 0, "values": [None, None]},
        )
        self.assertEqual(spread([])["n"], 0)


class SummarizeRunsTests(TestCase):
    def runs(self):
        return [
            {
                "loadavg_before": 1.5,
                "ours": peer(3000.0, 900.0, 20.0, 250),
                "anvil": peer(6000.0, 300.0, 40.0, 240),
                "included_tps_ratio_ours_to_anvil": 0.5,
            },
            {
                "loadavg_before": 0.5,
                "ours": peer(3600.0, 700.0, 30.0, 230),
                "anvil": peer(4000.0, 280.0, 35.0, 260),
                "included_tps_ratio_ours_to_anvil": 0.9,
            },
            {
                "loadavg_before": 2.5,
                "ours": peer(2400.0, 1100.0, 25.0, 270),
                "anvil": peer(3000.0, 310.0, 50.0, 250),
                "included_tps_ratio_ours_to_anvil": 0.8,
            },
        ]

    def test_ratio_and_peers(self):
        """Median/min/max of the ratio and of each peer's TPS, p99s and CPU per tx."""
        summary = summarize_runs(self.runs(), ["ours", "anvil"])
        self.assertEqual(summary["runs"], 3)
        ratio = summary["included_tps_ratio_ours_to_anvil"]
        self.assertEqual((ratio["median"], ratio["min"], ratio["max"]), (0.8, 0.5, 0.9))
        ours = summary["ours"]
        self.assertEqual(ours["included_tps"]["median"], 3000.0)
        self.assertEqual(ours["inclusion_p99_ms"]["median"], 900.0)
        self.assertEqual(ours["inclusion_p99_ms"]["max"], 1100.0)
        self.assertEqual(ours["block_number_p99_ms"]["median"], 25.0)
        self.assertEqual(ours["cpu_us_per_tx"]["median"], 250)
        self.assertEqual(ours["cpu_us_per_tx"]["min"], 230)
        anvil = summary["anvil"]
        self.assertEqual(anvil["included_tps"]["median"], 4000.0)
        self.assertEqual(anvil["block_number_p99_ms"]["max"], 50.0)
        self.assertEqual(summary["loadavg_before"]["median"], 1.5)

    def test_every_ratio_key(self):
        """Each ``included_tps_ratio_*`` of any run is summed up (one per worker count)."""
        runs = self.runs()
        runs[0]["included_tps_ratio_ours_workers_1_to_anvil"] = 0.7
        summary = summarize_runs(runs, ["ours", "anvil"])
        workers = summary["included_tps_ratio_ours_workers_1_to_anvil"]
        self.assertEqual(workers["values"], [0.7, None, None])
        self.assertEqual(workers["median"], 0.7)

    def test_missing_peer_or_value(self):
        """A run where a peer did not run, or a value is null, counts for nothing there."""
        runs = self.runs()
        del runs[1]["anvil"]
        runs[2]["ours"]["peer_cpu_us_per_tx"] = None
        runs[1]["included_tps_ratio_ours_to_anvil"] = None
        summary = summarize_runs(runs, ["ours", "anvil"])
        self.assertEqual(summary["anvil"]["included_tps"]["n"], 2)
        self.assertEqual(summary["anvil"]["included_tps"]["median"], 4500.0)
        self.assertEqual(summary["ours"]["cpu_us_per_tx"]["values"], [250, 230, None])
        self.assertEqual(summary["ours"]["cpu_us_per_tx"]["median"], 240.0)
        self.assertEqual(summary["included_tps_ratio_ours_to_anvil"]["median"], 0.65)


class AddRatiosTests(TestCase):
    def test_each_of_ours_against_anvil(self):
        """``ours / anvil`` included TPS per ours-peer, rounded to 3 places; pipeline on/off."""
        result = {
            "ours": peer(3000.0, 1, 1, 1),
            "ours-workers-1": peer(2000.0, 1, 1, 1),
            "ours-no-pipeline": peer(1500.0, 1, 1, 1),
            "anvil": peer(6000.0, 1, 1, 1),
        }
        add_ratios(result, ["ours", "ours-workers-1", "ours-no-pipeline", "anvil"])
        self.assertEqual(result["included_tps_ratio_ours_to_anvil"], 0.5)
        self.assertEqual(result["included_tps_ratio_ours_workers_1_to_anvil"], 0.333)
        self.assertEqual(result["included_tps_ratio_ours_no_pipeline_to_anvil"], 0.25)
        self.assertEqual(result["included_tps_ratio_pipeline_on_to_off"], 2.0)

    def test_no_tps_no_ratio(self):
        """A peer that included nothing (TPS null) gives a null ratio, not an error."""
        result = {"ours": peer(None, 1, 1, 1), "anvil": peer(6000.0, 1, 1, 1)}
        add_ratios(result, ["ours", "anvil"])
        self.assertIsNone(result["included_tps_ratio_ours_to_anvil"])

    def test_without_anvil(self):
        result = {"ours": peer(3000.0, 1, 1, 1)}
        add_ratios(result, ["ours"])
        self.assertEqual(list(result), ["ours"])
