"""``zkosctl prover`` options: the API URL, the key file, numbers."""

from __future__ import annotations

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests.prover_api.helpers import WORKER, WORKER_KEY
from zkos_tw.cli.prover import Options, create_worker


class ProverOptionsTests(SynchronousTestCase):
    def parse(self, *args):
        options = Options()
        options.parseOptions(list(args))
        return options

    def test_key_file(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("0x" + WORKER_KEY.hex() + "\n")
        options = self.parse("--api", "http://127.0.0.1:3124", "--key", path, "--id", "w1")
        self.assertEqual((options["key"], options["id"]), (WORKER_KEY, "w1"))
        from twisted.internet.testing import MemoryReactorClock

        worker = create_worker(options, MemoryReactorClock())
        self.assertEqual(worker.address, WORKER)
        self.assertFalse(worker.snark_mode)

    def test_defaults(self):
        """No --key: a fresh random key; the id names the process; FRI mode."""
        options = self.parse("--api", "http://h:1")
        self.assertEqual(len(options["key"]), 32)
        self.assertTrue(options["id"].startswith("prover-"))
        self.assertTrue(self.parse("--api", "http://h:1", "--snark")["snark"])

    def test_refusals(self):
        bad_key = self.mktemp()
        with open(bad_key, "w") as f:
            f.write("0x1234")
        for args, text in (
            ((), "--api must be"),
            (("--api", "127.0.0.1:3124"), "--api must be"),
            (("--api", "http://h:1", "--key", bad_key), "expected a 32-byte hex private key"),
            (("--api", "http://h:1", "--key", self.mktemp()), "No such file"),
            (("--api", "http://h:1", "--jobs", "0"), "--jobs must be a positive integer"),
            (("--api", "http://h:1", "--poll-interval", "x"), "--poll-interval must be a number"),
            (("--api", "http://h:1", "--metrics-port", "70000"), "--metrics-port must be a TCP"),
        ):
            with self.assertRaises(usage.UsageError) as e:
                self.parse(*args)
            self.assertIn(text, str(e.exception))
