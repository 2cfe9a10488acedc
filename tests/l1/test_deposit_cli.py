"""``zkosctl deposit``: option parsing (amounts, addresses, keys) and the receipt wait."""

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.cli.deposit import DepositError, Options, _wait_receipt, parse_amount
from zkos_tw.config import GenesisConfig

RICH = "0x36615Cf349d7F6344891B1e7CA7C72883F5dc049"


class AmountTests(SynchronousTestCase):
    def test_units(self):
        """Plain wei, gwei, eth and ether, with decimals where they make whole wei."""
        self.assertEqual(parse_amount("1000"), 1000)
        self.assertEqual(parse_amount("2 gwei"), 2 * 10**9)
        self.assertEqual(parse_amount("1.5eth"), 15 * 10**17)
        self.assertEqual(parse_amount("10000ETHER"), 10**22)

    def test_rejections(self):
        """Fractions of a wei, zero, negatives and words are refused with the value named."""
        for text in ("0.5", "0", "-1eth", "lots", ""):
            e = self.assertRaises(ValueError, parse_amount, text)
            self.assertIn(repr(text), str(e))


class OptionsTests(SynchronousTestCase):
    def parse(self, *argv) -> Options:
        options = Options()
        options.parseOptions(list(argv))
        return options

    def test_defaults(self):
        """The rich key, chain 270, the configured default bridgehub, localhost RPCs."""
        options = self.parse("--amount", "1eth", "--to", RICH.lower())
        self.assertEqual(options["amount"], 10**18)
        self.assertEqual(options["to"], RICH)
        self.assertEqual(options["account"].address, RICH)
        self.assertEqual(options["chain-id"], 270)
        expected = GenesisConfig().bridgehub_address
        self.assertEqual(options["bridgehub"].lower(), expected.lower())
        self.assertEqual(options["l1-rpc-url"], "http://localhost:8545")
        self.assertEqual(options["l2-rpc-url"], "http://localhost:3050")
        self.assertEqual(options["l2-gas-limit"], 500_000)  # the reference tool's limit
        options = self.parse("--amount", "1", "--to", RICH, "--l2-gas-limit", "estimate")
        self.assertEqual(options["l2-gas-limit"], "estimate")
        options = self.parse("--amount", "1", "--to", RICH, "--l2-gas-limit", "250000")
        self.assertEqual(options["l2-gas-limit"], 250_000)

    def test_errors(self):
        """Each bad option gives one line naming it."""
        cases = [
            ((), "--amount is required"),
            (("--amount", "1"), "--to is required"),
            (("--amount", "1", "--to", "0x12"), "--to '0x12' is not an address"),
            (("--amount", "1", "--to", RICH, "--bridgehub", "x"), "--bridgehub 'x'"),
            (("--amount", "1", "--to", RICH, "--chain-id", "abc"), "--chain-id 'abc'"),
            (("--amount", "1", "--to", RICH, "--timeout", "0"), "--timeout must be positive"),
            (("--amount", "1", "--to", RICH, "--private-key", "0x12"), "--private-key is not"),
            (("--amount", "1", "--to", RICH, "--l2-gas-limit", "lots"), "--l2-gas-limit 'lots'"),
            (("--amount", "1", "--to", RICH, "--l2-gas-limit", "0"), "--l2-gas-limit must be"),
        ]
        for argv, message in cases:
            e = self.assertRaises(usage.UsageError, self.parse, *argv)
            self.assertIn(message, str(e))


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class WaitTests(SynchronousTestCase):
    def test_waits_until_seen(self):
        """Polls every ``interval`` until a receipt appears."""
        answers = [None, None, {"status": 1}]
        clock = FakeClock()
        receipt = _wait_receipt(lambda h: answers.pop(0), "0xab", 5, "L2", clock, interval=0.25)
        self.assertEqual(receipt, {"status": 1})
        self.assertEqual(clock.now, 0.5)

    def test_timeout_message(self):
        """No receipt within the timeout: the message names the side, hash and timeout."""
        e = self.assertRaises(
            DepositError, _wait_receipt, lambda h: None, "0xab", 2, "L2", FakeClock()
        )
        self.assertEqual(str(e), "L2 receipt for 0xab not seen within 2 s")

    def test_waiting_state_on_a_terminal(self):
        """On a terminal the wait shows what it waits for and for how long, then is erased."""
        from tests.cli.test_progress import TTY
        from zkos_tw.cli.progress import ERASE, Waiting

        clock = FakeClock()
        stream = TTY()
        waiting = Waiting.for_stream(stream, clock=clock.monotonic, min_interval=0.0)
        answers = [None, None, {"status": 1}]
        _wait_receipt(lambda h: answers.pop(0), "0xab", 5, "L1", clock, 0.5, waiting)
        self.assertEqual(
            stream.getvalue(),
            f"{ERASE}waiting for the L1 receipt of 0xab, 0s"
            f"{ERASE}waiting for the L1 receipt of 0xab, 1s{ERASE}",
        )

    def test_waiting_state_erased_on_timeout_and_quiet_off_a_terminal(self):
        import io

        from tests.cli.test_progress import TTY
        from zkos_tw.cli.progress import ERASE, Waiting

        clock = FakeClock()
        stream = TTY()
        waiting = Waiting.for_stream(stream, clock=clock.monotonic)
        self.assertRaises(
            DepositError, _wait_receipt, lambda h: None, "0xab", 1, "L2", clock, 0.25, waiting
        )
        self.assertTrue(stream.getvalue().endswith(ERASE))
        for quiet in (Waiting.for_stream(io.StringIO()), Waiting.for_stream(TTY(), quiet=True)):
            _wait_receipt(
                lambda h: None if clock.now < 1 else {}, "0xab", 5, "L2", clock, 0.5, quiet
            )
            self.assertEqual(quiet.stream.getvalue(), "")
