"""Tests for ``zkos_tw.hashing``: both implementations, against hashlib and pycryptodome."""

import hashlib

from Crypto.Hash import keccak as pycryptodome_keccak
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SkipTest, SynchronousTestCase

import tests.strategies  # noqa: F401 - loads the hypothesis settings profile (ci on CI)
import zkos_tw.hashing
from zkos_tw import extensions
from zkos_tw.execution.receipts import Log
from zkos_tw.hashing import _pure


def _compiled():
    try:
        from zkos_tw._ext import _hashing
    except ImportError:
        return None
    return _hashing


def _keccak(data: bytes) -> bytes:
    return pycryptodome_keccak.new(data=data, digest_bits=256).digest()


class HashingMixin:
    """Known answers and properties, bound below to each implementation."""

    impl = None

    def test_known_answers(self):
        """keccak-256('') and BLAKE2s-256('') are the published values."""
        self.assertEqual(
            self.impl.keccak256(b"").hex(),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
        )
        self.assertEqual(
            self.impl.blake2s256(b"").hex(),
            "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9",
        )

    def test_block_boundaries(self):
        """Lengths around the keccak rate (136) and the BLAKE2s block (64) match the references."""
        for n in (1, 31, 32, 63, 64, 65, 127, 128, 129, 135, 136, 137, 271, 272, 273, 1000):
            data = bytes(range(256))[: n % 256] * (n // 256 + 1)
            data = data[:n]
            self.assertEqual(self.impl.keccak256(data), _keccak(data), n)
            self.assertEqual(self.impl.blake2s256(data), hashlib.blake2s(data).digest(), n)

    def test_logs_bloom_known_answer(self):
        """The bloom of one log sets the three bits of keccak(address) and of each topic: the
        bit of item ``x`` is ``(digest[i] << 8 | digest[i + 1]) & 0x7FF`` for i in 0, 2, 4,
        counted from the low end of the 2048-bit big-endian number."""
        address = bytes.fromhex("11" * 20)
        topic = bytes(31) + b"\x01"
        expected = 0
        for item in (address, topic):
            digest = _keccak(item)
            for i in (0, 2, 4):
                expected |= 1 << (((digest[i] << 8) | digest[i + 1]) & 0x7FF)
        bloom = self.impl.logs_bloom([Log(address, (topic,), b"data")])
        self.assertEqual(bloom, expected.to_bytes(256, "big"))
        self.assertEqual(self.impl.logs_bloom([]), bytes(256))

    def test_pairs_length_checked(self):
        """A length that is not a multiple of 64 is refused."""
        self.assertRaises(ValueError, self.impl.blake2s256_pairs, b"x" * 65)


class PureHashingTests(HashingMixin, SynchronousTestCase):
    """The pure-Python twin."""

    impl = _pure


class CompiledHashingTests(HashingMixin, SynchronousTestCase):
    """The compiled module (skipped where it is not built and not required)."""

    def setUp(self):
        compiled = _compiled()
        if compiled is None:
            if extensions.REQUIRE_EXTENSIONS:
                self.fail("ZKOS_REQUIRE_EXTENSIONS is set but zkos_tw._ext._hashing is missing")
            raise SkipTest("zkos_tw._ext._hashing is not built (pure-only install)")
        self.impl = compiled


def _implementations():
    compiled = _compiled()
    return [_pure] if compiled is None else [_pure, compiled]


class PropertyTests(SynchronousTestCase):
    """Random inputs through every available implementation (a differential test when both are)."""

    @given(st.binary(max_size=2000))
    def test_random_inputs(self, data):
        """Any input hashes like the references; bytearray and memoryview are accepted."""
        for impl in _implementations():
            self.assertEqual(impl.keccak256(data), _keccak(data))
            self.assertEqual(impl.blake2s256(data), hashlib.blake2s(data).digest())
            self.assertEqual(impl.keccak256(bytearray(data)), _keccak(data))
            self.assertEqual(impl.blake2s256(memoryview(data)), hashlib.blake2s(data).digest())

    @given(
        st.lists(
            st.tuples(
                st.binary(min_size=20, max_size=20),
                st.lists(st.binary(min_size=32, max_size=32), max_size=4),
            ),
            max_size=8,
        )
    )
    def test_logs_bloom(self, entries):
        """Both implementations give the same bloom for any logs (bytearray items too)."""
        logs = [Log(address, tuple(topics), b"") for address, topics in entries]
        mixed = [Log(bytearray(log.address), log.topics, b"") for log in logs]
        expected = _pure.logs_bloom(logs)
        for impl in _implementations():
            self.assertEqual(impl.logs_bloom(logs), expected)
            self.assertEqual(impl.logs_bloom(mixed), expected)

    @given(st.lists(st.binary(min_size=64, max_size=64), max_size=20))
    def test_pairs(self, pairs):
        """blake2s256_pairs hashes each 64-byte chunk."""
        expected = b"".join(hashlib.blake2s(p).digest() for p in pairs)
        for impl in _implementations():
            self.assertEqual(impl.blake2s256_pairs(b"".join(pairs)), expected)


class DispatchTests(SynchronousTestCase):
    """The dispatcher honours ZKOS_NO_EXTENSIONS / ZKOS_REQUIRE_EXTENSIONS."""

    def test_expected_implementation_loaded(self):
        """Under ZKOS_REQUIRE_EXTENSIONS the compiled path is active; under NO, the pure one.

        This is the test that fails when the extension was expected but not loaded.
        """
        if extensions.REQUIRE_EXTENSIONS:
            self.assertEqual(zkos_tw.hashing.IMPLEMENTATION, "cext")
            self.assertTrue(extensions.EXTENSION_LOADED)
        if extensions.NO_EXTENSIONS:
            self.assertEqual(zkos_tw.hashing.IMPLEMENTATION, "pure")
            self.assertIs(zkos_tw.hashing.keccak256, _pure.keccak256)

    def test_required_but_missing_raises(self):
        """A missing extension under REQUIRE raises ImportError naming it."""
        self.patch(extensions, "NO_EXTENSIONS", False)
        self.patch(extensions, "REQUIRE_EXTENSIONS", True)
        self.patch(extensions, "LOADED", {})
        with self.assertRaises(ImportError) as ctx:
            extensions.load("_no_such_extension", "zkos_tw.hashing._pure")
        self.assertIn("zkos_tw._ext._no_such_extension", str(ctx.exception))

    def test_missing_falls_back(self):
        """Without REQUIRE, a missing extension falls back to the pure twin and says so."""
        self.patch(extensions, "NO_EXTENSIONS", False)
        self.patch(extensions, "REQUIRE_EXTENSIONS", False)
        self.patch(extensions, "LOADED", {})
        module = extensions.load("_no_such_extension", "zkos_tw.hashing._pure")
        self.assertIs(module, _pure)
        self.assertEqual(extensions.describe(), {"_no_such_extension": "pure"})

    def test_no_extensions_forces_pure(self):
        """NO_EXTENSIONS gives the pure twin even when the compiled module exists."""
        self.patch(extensions, "NO_EXTENSIONS", True)
        self.patch(extensions, "LOADED", {})
        self.assertIs(extensions.load("_hashing", "zkos_tw.hashing._pure"), _pure)
