"""Tests for ``zkos_tw.config_values``: each parser's accepted forms and its error text."""

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw import config_values as v


class DurationTests(SynchronousTestCase):
    """Durations in smart-config's tolerant form."""

    def test_units(self):
        """ms, s, min, hours, with or without a space and decimals, all convert to seconds."""
        self.assertEqual(v.duration("100ms"), 0.1)
        self.assertEqual(v.duration("1s"), 1.0)
        self.assertEqual(v.duration("1.5 s"), 1.5)
        self.assertEqual(v.duration("15 min"), 900.0)
        self.assertEqual(v.duration("2 hours"), 7200.0)
        self.assertEqual(v.duration(" 3 Seconds "), 3.0)
        self.assertEqual(v.duration("1d"), 86400.0)

    def test_bad(self):
        """A number without a unit, an unknown unit or text is refused, saying what is expected."""
        for bad in ("100", "abc", "1 fortnight", "-1s", "", "1s2"):
            with self.assertRaises(ValueError) as ctx:
                v.duration(bad)
            self.assertIn("100ms, 1s or 15 min", str(ctx.exception))


class NumberTests(SynchronousTestCase):
    """Whole numbers, ports and booleans."""

    def test_integers(self):
        """Underscores are allowed; negative and non-numbers are refused."""
        self.assertEqual(v.non_negative_int("100_000_000"), 100_000_000)
        self.assertEqual(v.non_negative_int("0"), 0)
        self.assertRaises(ValueError, v.non_negative_int, "-5")
        self.assertRaises(ValueError, v.non_negative_int, "1e6")
        self.assertRaises(ValueError, v.positive_int, "0")

    def test_port(self):
        """Ports are 1..65535."""
        self.assertEqual(v.port("3050"), 3050)
        self.assertRaises(ValueError, v.port, "0")
        self.assertRaises(ValueError, v.port, "70000")

    def test_boolean(self):
        """true/false and the usual synonyms, any case."""
        for text in ("true", "TRUE", "1", "yes", "on"):
            self.assertIs(v.boolean(text), True)
        for text in ("false", "False", "0", "no", "off"):
            self.assertIs(v.boolean(text), False)
        self.assertRaises(ValueError, v.boolean, "maybe")


class IdentifierTests(SynchronousTestCase):
    """URLs, addresses, keys and enumerations."""

    def test_url(self):
        """http(s)/ws(s) URLs with a host pass; others fail."""
        self.assertEqual(v.url("http://localhost:8545"), "http://localhost:8545")
        self.assertEqual(v.url("wss://node.example/ws"), "wss://node.example/ws")
        for bad in ("localhost:8545", "ftp://x", "http://", "http://h:99999"):
            self.assertRaises(ValueError, v.url, bad)

    def test_address(self):
        """Addresses are normalised to lower case; wrong lengths fail."""
        self.assertEqual(
            v.address("0x36615Cf349d7F6344891B1e7CA7C72883F5dc049"),
            "0x36615cf349d7f6344891b1e7ca7c72883f5dc049",
        )
        self.assertRaises(ValueError, v.address, "0x1234")
        self.assertRaises(ValueError, v.address, "36615Cf349d7F6344891B1e7CA7C72883F5dc049")

    def test_private_key(self):
        """Keys are 0x and 64 hex digits."""
        key = "0x" + "ab" * 32
        self.assertEqual(v.private_key(key), key)
        self.assertRaises(ValueError, v.private_key, "0x" + "ab" * 31)

    def test_one_of(self):
        """Enumerations match case-insensitively and return the canonical spelling."""
        parse = v.one_of("FullDiffs", "Compacted")
        self.assertEqual(parse("fulldiffs"), "FullDiffs")
        with self.assertRaises(ValueError) as ctx:
            parse("Partial")
        self.assertIn("FullDiffs, Compacted", str(ctx.exception))


class AddressTests(SynchronousTestCase):
    """Listen and connect addresses become Twisted endpoint descriptions."""

    def test_listen(self):
        """host:port (the reference's form) and endpoint strings are both accepted."""
        self.assertEqual(v.listen_address("0.0.0.0:3050"), "tcp:3050:interface=0.0.0.0")
        self.assertEqual(v.listen_address("127.0.0.1:3071"), "tcp:3071:interface=127.0.0.1")
        self.assertEqual(v.listen_address(":3050"), "tcp:3050")
        self.assertEqual(v.listen_address("[::1]:3050"), "tcp6:3050:interface=\\:\\:1")
        self.assertEqual(v.listen_address("tcp:3050"), "tcp:3050")
        self.assertEqual(v.listen_address("ssl:443:privateKey=k.pem"), "ssl:443:privateKey=k.pem")
        for bad in ("3050", "host:port", "0.0.0.0:99999", "http://x:1"):
            self.assertRaises(ValueError, v.listen_address, bad)

    def test_connect(self):
        """host:port becomes a tcp client endpoint; a host is required."""
        self.assertEqual(v.connect_address("localhost:3053"), "tcp:host=localhost:port=3053")
        self.assertEqual(v.connect_address("tcp:host=h:port=1"), "tcp:host=h:port=1")
        self.assertRaises(ValueError, v.connect_address, ":3053")

    def test_listen_port(self):
        """The port can be read back from a description (for logs and health)."""
        self.assertEqual(v.listen_port("tcp:3050:interface=0.0.0.0"), 3050)
        self.assertEqual(v.listen_port("tcp:port=3051"), 3051)
        self.assertIsNone(v.listen_port("unix:/tmp/s"))
