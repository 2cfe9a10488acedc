"""Tests of the precompile table and of ECRECOVER, SHA256, RIPEMD160 and IDENTITY (0x01-0x04).

Known answers for ECRECOVER come from go-ethereum's ``core/vm/testdata/precompiles/ecRecover.json``.
The other precompiles have their own modules: ``test_precompiles_modexp``, ``_blake2f``, ``_bn254``
and ``_point_evaluation``.
"""

import hashlib

from coincurve import PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests import strategies  # noqa: F401  (registers and loads the hypothesis profiles)
from zkos_tw.execution.precompiles import PRECOMPILES, PrecompileFailure
from zkos_tw.execution.precompiles.ecrecover import SECP256K1N, ecrecover
from zkos_tw.execution.precompiles.hashes import identity, ripemd160, sha256
from zkos_tw.hashing import keccak256

# go-ethereum ecRecover.json "ValidKey": signed by the well-known test account 0xa94f...ebf0b.
VALID_HASH = bytes.fromhex("18c547e4f7b0f325ad1e56f57e26c745b09a3e503d86e00e5255ff7f715d3d1c")
VALID_R = bytes.fromhex("73b1693892219d736caba55bdb67216e485557ea6b6af75f37096c9aa6a5a75f")
VALID_S = bytes.fromhex("eeb940b1d03b21e36b0e47e79769f095fe2ab855bd91e3a38756b7d75a9c4549")
VALID_INPUT = VALID_HASH + (28).to_bytes(32, "big") + VALID_R + VALID_S
VALID_SIGNER = bytes.fromhex("a94f5374fce5edbc8e2a8697c15331677e6ebf0b")

# go-ethereum ecRecover.json "CallEcrecoverUnrecoverableKey": in range, but no key recovers.
UNRECOVERABLE_INPUT = bytes.fromhex(
    "a8b53bdf3306a35a7103ab5504a0c9b492295564b6202b1942a84ef300107281"
    "000000000000000000000000000000000000000000000000000000000000001b"
    "3078356531653033663533636531386237373263636230303933666637316633"
    "6635336635633735623734646362333161383561613862383839326234653862"
)

DEADLINE_FREE = settings(max_examples=50, deadline=None)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


class PrecompileTableTests(SynchronousTestCase):
    """The address map the interpreter dispatches on."""

    def test_addresses(self):
        """Exactly the ten Cancun precompiles 0x01-0x0a, keyed by 20-byte addresses."""
        self.assertEqual(
            sorted(PRECOMPILES), [number.to_bytes(20, "big") for number in range(1, 11)]
        )

    def test_entries(self):
        """Each address maps to its implementation."""
        self.assertIs(PRECOMPILES[(1).to_bytes(20, "big")], ecrecover)
        self.assertIs(PRECOMPILES[(2).to_bytes(20, "big")], sha256)
        self.assertIs(PRECOMPILES[(3).to_bytes(20, "big")], ripemd160)
        self.assertIs(PRECOMPILES[(4).to_bytes(20, "big")], identity)

    def test_every_precompile_fails_without_gas(self):
        """With zero gas every precompile raises PrecompileFailure (none is free)."""
        for address, precompile in PRECOMPILES.items():
            # blake2f needs its exact 213 bytes and one round to cost anything at all.
            data = (1).to_bytes(4, "big") + bytes(209) if address[-1] == 9 else bytes(192)
            with self.subTest(address=address.hex()):
                self.assertRaises(PrecompileFailure, precompile, data, 0)


class EcrecoverTests(SynchronousTestCase):
    """0x01: secp256k1 public key recovery, 3000 gas."""

    def test_valid_signature(self):
        """A valid signature gives the signer, left-padded to 32 bytes, for 3000 gas."""
        self.assertEqual(ecrecover(VALID_INPUT, 3000), (3000, bytes(12) + VALID_SIGNER))

    def test_extra_input_ignored(self):
        """Bytes past the first 128 do not matter."""
        self.assertEqual(ecrecover(VALID_INPUT + b"\xff" * 40, 10**6)[1][12:], VALID_SIGNER)

    def test_unrecoverable_key(self):
        """A signature from which no key can be recovered: empty output, gas still charged."""
        self.assertEqual(ecrecover(UNRECOVERABLE_INPUT, 3000), (3000, b""))

    def test_v_must_be_27_or_28(self):
        """v is a full 32-byte word: any high bit set, or 0/1/29, gives empty output."""
        for v in (0, 1, 29, 27 + (1 << 255), 28 + (1 << 64), 28 + (1 << 8)):
            data = VALID_HASH + _word(v) + VALID_R + VALID_S
            with self.subTest(v=v):
                self.assertEqual(ecrecover(data, 3000), (3000, b""))

    def test_other_v_recovers_other_key(self):
        """Flipping v between 27 and 28 recovers a different address."""
        data = VALID_HASH + _word(27) + VALID_R + VALID_S
        gas, output = ecrecover(data, 3000)
        self.assertEqual(gas, 3000)
        self.assertNotEqual(output[12:], VALID_SIGNER)

    def test_r_and_s_ranges(self):
        """r and s must be in [1, n - 1]; zero or n give empty output (high s is allowed)."""
        r, s = int.from_bytes(VALID_R, "big"), int.from_bytes(VALID_S, "big")
        for bad_r, bad_s in ((0, s), (SECP256K1N, s), (r, 0), (r, SECP256K1N), (2**256 - 1, s)):
            data = VALID_HASH + _word(28) + _word(bad_r) + _word(bad_s)
            with self.subTest(r=bad_r, s=bad_s):
                self.assertEqual(ecrecover(data, 3000), (3000, b""))
        self.assertGreater(s, SECP256K1N // 2, "the known-answer vector has a high s")

    def test_short_input_is_zero_padded(self):
        """Input shorter than 128 bytes is zero-padded: here s becomes 0, so empty output."""
        self.assertEqual(ecrecover(VALID_INPUT[:96], 3000), (3000, b""))
        self.assertEqual(ecrecover(b"", 3000), (3000, b""))

    def test_out_of_gas(self):
        """Less than 3000 gas fails the call, whatever the input."""
        self.assertRaises(PrecompileFailure, ecrecover, VALID_INPUT, 2999)
        self.assertRaises(PrecompileFailure, ecrecover, b"", 2999)

    @DEADLINE_FREE
    @given(secret=st.integers(1, SECP256K1N - 1), message_hash=st.binary(min_size=32, max_size=32))
    def test_recovers_signer(self, secret, message_hash):
        """For any key and hash, a recoverable signature recovers keccak(pubkey)[12:]."""
        key = PrivateKey(secret.to_bytes(32, "big"))
        signature = key.sign_recoverable(message_hash, hasher=None)
        data = message_hash + _word(27 + signature[64]) + signature[:64]
        address = keccak256(key.public_key.format(compressed=False)[1:])[12:]
        self.assertEqual(ecrecover(data, 3000), (3000, bytes(12) + address))


class HashPrecompileTests(SynchronousTestCase):
    """0x02 SHA256, 0x03 RIPEMD160 and 0x04 IDENTITY: word-priced, never failing but for gas."""

    def test_sha256_known_answers(self):
        """SHA-256 of "" and "abc", at 60 gas for no words and 72 for one."""
        self.assertEqual(
            sha256(b"", 60),
            (60, bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")),
        )
        self.assertEqual(
            sha256(b"abc", 72),
            (72, bytes.fromhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")),
        )

    def test_ripemd160_known_answers(self):
        """RIPEMD-160 of "" and "abc", left-padded to 32 bytes, at 600 + 120 per word."""
        self.assertEqual(
            ripemd160(b"", 600),
            (600, bytes(12) + bytes.fromhex("9c1185a5c5e9fc54612808977ee8f548b2258d31")),
        )
        self.assertEqual(
            ripemd160(b"abc", 720),
            (720, bytes(12) + bytes.fromhex("8eb208f7e05d987a9b044a8e98c6b087f15a0bfc")),
        )

    def test_word_rounding(self):
        """Gas counts words rounded up: 32 bytes is one word, 33 bytes two."""
        self.assertEqual(sha256(bytes(32), 10**6)[0], 72)
        self.assertEqual(sha256(bytes(33), 10**6)[0], 84)
        self.assertEqual(ripemd160(bytes(33), 10**6)[0], 840)
        self.assertEqual(identity(bytes(64), 10**6)[0], 21)
        self.assertEqual(identity(bytes(65), 10**6)[0], 24)

    def test_out_of_gas(self):
        """One gas short of the cost fails; exactly the cost succeeds."""
        for precompile, data, cost in (
            (sha256, bytes(33), 84),
            (ripemd160, bytes(33), 840),
            (identity, bytes(33), 21),
        ):
            with self.subTest(precompile=precompile.__name__):
                self.assertRaises(PrecompileFailure, precompile, data, cost - 1)
                self.assertEqual(precompile(data, cost)[0], cost)

    @DEADLINE_FREE
    @given(data=st.binary(max_size=300))
    def test_sha256_matches_hashlib(self, data):
        """SHA256 is hashlib's sha256 at 60 + 12 per word."""
        words = (len(data) + 31) // 32
        self.assertEqual(sha256(data, 10**6), (60 + 12 * words, hashlib.sha256(data).digest()))

    @DEADLINE_FREE
    @given(data=st.binary(max_size=300))
    def test_ripemd160_shape(self, data):
        """RIPEMD160 output is 32 bytes with 12 leading zeros, at 600 + 120 per word."""
        gas, output = ripemd160(data, 10**6)
        self.assertEqual(gas, 600 + 120 * ((len(data) + 31) // 32))
        self.assertEqual((len(output), output[:12]), (32, bytes(12)))

    @DEADLINE_FREE
    @given(data=st.binary(max_size=300))
    def test_identity(self, data):
        """IDENTITY returns its input, as bytes, at 15 + 3 per word."""
        gas, output = identity(bytearray(data), 10**6)
        self.assertEqual(
            (gas, output, type(output)), (15 + 3 * ((len(data) + 31) // 32), data, bytes)
        )
