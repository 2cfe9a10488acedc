"""``zkosctl load`` options: validation and the run configuration they give."""

from twisted.python import usage
from twisted.trial.unittest import TestCase

from zkos_tw.cli import COMMANDS
from zkos_tw.cli.load import DURATION_BUDGET_TPS, Options, summary_line
from zkos_tw.load.runner import RICH_KEY
from zkos_tw.load.stats import RunRecord


def parse(*args):
    options = Options()
    options.parseOptions(list(args))
    return options


class OptionsTests(TestCase):
    def test_registered(self):
        self.assertEqual(COMMANDS["load"][0], "zkos_tw.cli.load")

    def test_defaults(self):
        config = parse().config()
        self.assertEqual(config.rpc_url, "http://127.0.0.1:3050")
        self.assertEqual(config.private_key, RICH_KEY)
        self.assertEqual((config.senders, config.txs, config.batch_size), (100, 10_000, 100))
        self.assertEqual((config.kind, config.client), ("transfer", "raw"))
        self.assertIsNone(config.duration)

    def test_duration_budget(self):
        """--duration alone signs DURATION_BUDGET_TPS per second; with --rate, rate x duration."""
        self.assertEqual(parse("--duration", "2").config().txs, 2 * DURATION_BUDGET_TPS)
        self.assertEqual(parse("--duration", "2", "--rate", "300").config().txs, 600)
        self.assertEqual(parse("--duration", "2", "--txs", "7").config().txs, 7)

    def test_seed(self):
        self.assertEqual(parse("--seed", "0xabcd").config().seed, b"\xab\xcd")

    def test_bad_input(self):
        """Each bad value is a UsageError naming the option."""
        for args, text in (
            (["--kind", "swap"], "--kind"),
            (["--client", "curl"], "--client"),
            (["--senders", "0"], "--senders"),
            (["--batch-size", "0"], "--batch-size"),
            (["--txs", "0"], "--txs"),
            (["--max-pending", "0"], "--max-pending"),
            (["--priority-fee", "-1"], "--priority-fee"),
            (["--timeout", "0"], "--timeout"),
            (["--seed", "xyz"], "--seed"),
            (["--rpc-url", "ws://127.0.0.1:3050"], "--rpc-url"),
            (["--duration", "-3"], "--duration must be at least"),
            (["--senders", "many"], "--senders must be a number"),
        ):
            with self.assertRaises(usage.UsageError) as caught:
                parse(*args)
            self.assertIn(text, str(caught.exception))

    def test_summary_line(self):
        record = RunRecord(planned=2)
        self.assertIn("0/2 included", summary_line(record.result()))
