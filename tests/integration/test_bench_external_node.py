"""``benchmarks/external_node.py`` runs end to end on a small load and reports every figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from twisted.trial.unittest import TestCase

from tests.fixtures import REPO_ROOT
from tests.integration.node_process import require_anvil


class ExternalNodeBenchmarkTests(TestCase):
    timeout = 90

    def test_small_run(self):
        """300 transfers: EN2 replays the load's blocks, EN1's lag is measured."""
        require_anvil()
        done = subprocess.run(
            [
                sys.executable,
                os.path.join(REPO_ROOT, "benchmarks", "external_node.py"),
                "--txs",
                "300",
                "--senders",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=80,
        )
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        report = json.loads(done.stdout)
        self.assertEqual(report["load"]["included"], 300)
        self.assertEqual(report["blocks"]["transactions"], 300)
        self.assertGreater(report["production"]["transactions_per_second"], 0)
        self.assertGreater(report["replay"]["transactions_per_second"], 0)
        self.assertGreater(report["replay_to_production"], 0)
        self.assertEqual(report["lag"]["ms"]["samples"], report["blocks"]["count"])
        self.assertGreaterEqual(report["lag"]["blocks"]["p99"], report["lag"]["blocks"]["p50"])
