"""Tests of the BLAKE2F precompile (0x09, EIP-152): the BLAKE2b compression function F.

Known answers come from go-ethereum's ``core/vm/testdata/precompiles/blake2F.json`` (the EIP-152
test vectors 4-7) and ``fail-blake2f.json``; a full BLAKE2b-512 run is checked against hashlib.
"""

import hashlib
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests import strategies  # noqa: F401  (registers and loads the hypothesis profiles)
from zkos_tw.execution.precompiles import PRECOMPILES, PrecompileFailure
from zkos_tw.execution.precompiles.blake2f import IV, blake2f

# EIP-152 vectors: the state, message block ("abc") and counters shared by vectors 4-7.
_BODY = (
    "48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5"
    "d182e6ad7f520e511f6c3e2b8c68059b6bbd41fbabd9831f79217e1319cde05b"
    "6162630000000000000000000000000000000000000000000000000000000000"
    + "00" * 96
    + "0300000000000000"
    + "0000000000000000"
)

BLAKE2F_VECTORS = [
    # (name, rounds, final flag, expected output)
    (
        "vector 4",
        0,
        1,
        "08c9bcf367e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5"
        "d282e6ad7f520e511f6c3e2b8c68059b9442be0454267ce079217e1319cde05b",
    ),
    (
        "vector 5",
        12,
        1,
        "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
        "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
    ),
    (
        "vector 6",
        12,
        0,
        "75ab69d3190a562c51aef8d88f1c2775876944407270c42c9844252c26d28752"
        "98743e7f6d5ea2f2d3e8d226039cd31b4e426ac4f2d3d666a610c2116fde4735",
    ),
    (
        "vector 7",
        1,
        1,
        "b63a380cb2897d521994a85234ee2c181b5f844d2c624c002677e9703449d2fb"
        "a551b3a8333bcdf5f2f7e08993d53923de3d64fcc68c034e717b9293fed7a421",
    ),
]


def _input(rounds: int, final: int, body: str = _BODY) -> bytes:
    return rounds.to_bytes(4, "big") + bytes.fromhex(body) + bytes((final,))


class Blake2fTests(SynchronousTestCase):
    """Output, gas and input validation of BLAKE2F."""

    def test_registered(self):
        """BLAKE2F is at address 0x09."""
        self.assertIs(PRECOMPILES[(9).to_bytes(20, "big")], blake2f)

    def test_vectors(self):
        """The EIP-152 vectors, each charged one gas per round."""
        for name, rounds, final, expected in BLAKE2F_VECTORS:
            with self.subTest(name=name):
                data = _input(rounds, final)
                self.assertEqual(len(data), 213)
                self.assertEqual(blake2f(data, rounds), (rounds, bytes.fromhex(expected)))

    def test_wrong_length(self):
        """Input of any length but 213 fails (go-ethereum fail-blake2f.json), even with gas."""
        data = _input(12, 1)
        for bad in (b"", data[:-1], data + b"\x00", data[1:]):
            with self.subTest(length=len(bad)):
                self.assertRaises(PrecompileFailure, blake2f, bad, 10**6)

    def test_bad_final_flag(self):
        """A final-block flag other than 0 or 1 fails."""
        for flag in (2, 0x80, 0xFF):
            with self.subTest(flag=flag):
                self.assertRaises(PrecompileFailure, blake2f, _input(12, flag), 10**6)

    def test_out_of_gas(self):
        """Fewer gas than rounds fails; the maximum round count fails at once on gas."""
        self.assertRaises(PrecompileFailure, blake2f, _input(12, 1), 11)
        self.assertRaises(PrecompileFailure, blake2f, _input(2**32 - 1, 1), 30_000_000)

    @settings(max_examples=30, deadline=None)
    @given(message=st.binary(max_size=128))
    def test_single_block_blake2b(self, message):
        """12 rounds of F over one final block is BLAKE2b-512 of a message up to 128 bytes."""
        h = list(IV)
        h[0] ^= 0x01010040  # parameter block: digest length 64, no key, fanout 1, depth 1
        body = struct.pack("<8Q", *h) + message.ljust(128, b"\x00")
        body += struct.pack("<2Q", len(message), 0)
        gas, output = blake2f(struct.pack(">I", 12) + body + b"\x01", 12)
        self.assertEqual((gas, output), (12, hashlib.blake2b(message).digest()))
