"""``benchmarks/transports.py`` runs end to end on a small WAL and reports every transport."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from twisted.trial.unittest import TestCase

from tests.fixtures import REPO_ROOT


class TransportsBenchmarkTests(TestCase):
    timeout = 60

    def test_small_run(self):
        """20 records over tcp / tls / nacl: positive rates, tcp's ratio 1."""
        done = subprocess.run(
            [
                sys.executable,
                os.path.join(REPO_ROOT, "benchmarks", "transports.py"),
                "--records",
                "20",
                "--repeat",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=50,
            check=True,
        )
        report = json.loads(done.stdout)
        self.assertEqual(report["records"], 20)
        self.assertEqual(sorted(report["transports"]), ["nacl", "tcp", "tls"])
        self.assertEqual(report["transports"]["tcp"]["throughput_ratio_to_tcp"], 1.0)
        for numbers in report["transports"].values():
            self.assertGreater(numbers["records_per_second"], 0)
            self.assertGreater(numbers["mb_per_second"], 0)
