"""Tests of the MODEXP precompile (0x05): EIP-198 input parsing with EIP-2565 gas.

Known answers come from go-ethereum's ``core/vm/testdata/precompiles/modexp_eip2565.json``.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests import strategies  # noqa: F401  (registers and loads the hypothesis profiles)
from zkos_tw.execution.precompiles import PRECOMPILES, PrecompileFailure
from zkos_tw.execution.precompiles.modexp import gas_cost, iteration_count, modexp, read_int

MODEXP_VECTORS = [
    # (name, input, expected output, gas) from go-ethereum modexp_eip2565.json
    (
        "eip_example1",
        "0000000000000000000000000000000000000000000000000000000000000001"
        "0000000000000000000000000000000000000000000000000000000000000020"
        "0000000000000000000000000000000000000000000000000000000000000020"
        "03"
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e"
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
        "0000000000000000000000000000000000000000000000000000000000000001",
        1360,
    ),
    (
        "eip_example2",
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000020"
        "0000000000000000000000000000000000000000000000000000000000000020"
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e"
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        1360,
    ),
    (
        "nagydani-1-pow0x10001",
        "0000000000000000000000000000000000000000000000000000000000000040"
        "0000000000000000000000000000000000000000000000000000000000000003"
        "0000000000000000000000000000000000000000000000000000000000000040"
        "e09ad9675465c53a109fac66a445c91b292d2bb2c5268addb30cd82f80fcb003"
        "3ff97c80a5fc6f39193ae969c6ede6710a6b7ac27078a06d90ef1c72e5c85fb5"
        "010001"
        "fc9e1f6beb81516545975218075ec2af118cd8798df6e08a147c60fd6095ac2b"
        "b02c2908cf4dd7c81f11c289e4bce98f3553768f392a80ce22bf5c4f4a248c6b",
        "c36d804180c35d4426b57b50c5bfcca5c01856d104564cd513b461d3c8b84091"
        "28a5573e416d0ebe38f5f736766d9dc27143e4da981dfa4d67f7dc474cbee6d2",
        341,
    ),
    (
        "nagydani-1-qube",
        "0000000000000000000000000000000000000000000000000000000000000040"
        "0000000000000000000000000000000000000000000000000000000000000001"
        "0000000000000000000000000000000000000000000000000000000000000040"
        "e09ad9675465c53a109fac66a445c91b292d2bb2c5268addb30cd82f80fcb003"
        "3ff97c80a5fc6f39193ae969c6ede6710a6b7ac27078a06d90ef1c72e5c85fb5"
        "03"
        "fc9e1f6beb81516545975218075ec2af118cd8798df6e08a147c60fd6095ac2b"
        "b02c2908cf4dd7c81f11c289e4bce98f3553768f392a80ce22bf5c4f4a248c6b",
        "4834a46ba565db27903b1c720c9d593e84e4cbd6ad2e64b31885d944f68cd801"
        "f92225a8961c952ddf2797fa4701b330c85c4b363798100b921a1a22a46a7fec",
        200,
    ),
]

MAX_WORD = 2**256 - 1


def _call(base: bytes, exponent: bytes, modulus: bytes) -> bytes:
    """The MODEXP input for these three numbers, with their lengths."""
    lengths = b"".join(len(x).to_bytes(32, "big") for x in (base, exponent, modulus))
    return lengths + base + exponent + modulus


def _header(base_length: int, exponent_length: int, modulus_length: int) -> bytes:
    return b"".join(n.to_bytes(32, "big") for n in (base_length, exponent_length, modulus_length))


class ModexpKnownAnswerTests(SynchronousTestCase):
    """go-ethereum's EIP-2565 vectors: output and gas."""

    def test_registered(self):
        """MODEXP is at address 0x05."""
        self.assertIs(PRECOMPILES[(5).to_bytes(20, "big")], modexp)

    def test_vectors(self):
        """Each vector gives the expected output for exactly the expected gas."""
        for name, data, expected, gas in MODEXP_VECTORS:
            with self.subTest(name=name):
                self.assertEqual(modexp(bytes.fromhex(data), gas), (gas, bytes.fromhex(expected)))
                self.assertRaises(PrecompileFailure, modexp, bytes.fromhex(data), gas - 1)


class ModexpInputTests(SynchronousTestCase):
    """EIP-198 parsing: zero padding, empty operands, zero modulus."""

    def test_empty_input(self):
        """No input at all: every length is zero, output empty, minimum gas 200."""
        self.assertEqual(modexp(b"", 200), (200, b""))

    def test_zero_modulus(self):
        """A zero modulus gives modulus-length zeros."""
        self.assertEqual(modexp(_call(b"\x03", b"\x05", bytes(4)), 200), (200, bytes(4)))

    def test_modulus_one(self):
        """Anything mod 1 is 0, in the modulus' length."""
        self.assertEqual(modexp(_call(b"\x03", b"\x05", b"\x00\x01"), 200), (200, bytes(2)))

    def test_zero_exponent(self):
        """x ** 0 is 1, also for x = 0, as long as the modulus is above 1."""
        self.assertEqual(modexp(_call(b"", b"", b"\x07"), 200), (200, b"\x01"))
        self.assertEqual(modexp(_call(b"\x00", b"\x00", b"\x07"), 200), (200, b"\x01"))

    def test_short_input_zero_padded(self):
        """Missing trailing bytes of the numbers read as zeros (the modulus here: 0x0500)."""
        data = _header(1, 1, 2) + b"\x02\x03\x05"
        self.assertEqual(modexp(data, 200), (200, (8 % 0x0500).to_bytes(2, "big")))

    def test_truncated_header(self):
        """A header cut short reads its missing bytes as zeros."""
        data = bytes(64) + bytes(30) + b"\x01"  # modulus length reads as 0x0100 = 256
        self.assertEqual(modexp(data, 10**6), (32 * 32 // 3, bytes(256)))

    def test_extra_input_ignored(self):
        """Bytes after the modulus do not matter."""
        data = _call(b"\x02", b"\x0a", b"\x03\xe8")
        self.assertEqual(modexp(data + b"\xff" * 50, 200), modexp(data, 200))

    def test_output_keeps_leading_zeros(self):
        """The output is exactly the modulus' length, leading zeros included."""
        gas, output = modexp(_call(b"\x02", b"\x03", bytes(30) + b"\x01\x00"), 200)
        self.assertEqual(output, bytes(31) + b"\x08")

    @settings(max_examples=100, deadline=None)
    @given(
        base=st.binary(max_size=70),
        exponent=st.binary(max_size=40),
        modulus=st.binary(min_size=1, max_size=70),
    )
    def test_matches_pow(self, base, exponent, modulus):
        """MODEXP agrees with Python's pow, in the modulus' length, at the EIP-2565 price."""
        m = int.from_bytes(modulus, "big")
        b, e = int.from_bytes(base, "big"), int.from_bytes(exponent, "big")
        expected = (pow(b, e, m) if m else 0).to_bytes(len(modulus), "big")
        cost = gas_cost(
            len(base), len(exponent), len(modulus), int.from_bytes(exponent[:32], "big")
        )
        self.assertEqual(modexp(_call(base, exponent, modulus), 10**9), (cost, expected))


class ModexpGasTests(SynchronousTestCase):
    """EIP-2565 pricing, and failing on huge lengths before reading or allocating them."""

    def test_iteration_count(self):
        """The adjusted exponent length: head bit length - 1, plus 8 per byte beyond 32, min 1."""
        self.assertEqual(iteration_count(0, 0), 1)
        self.assertEqual(iteration_count(1, 1), 1)
        self.assertEqual(iteration_count(1, 3), 1)
        self.assertEqual(iteration_count(3, 0x10001), 16)
        self.assertEqual(iteration_count(32, 2**255), 255)
        self.assertEqual(iteration_count(40, 0), 64)
        self.assertEqual(iteration_count(40, 2**255), 64 + 255)

    def test_long_exponent_uses_head(self):
        """With a 40-byte exponent only its first 32 bytes enter the price."""
        exponent = b"\x01" + bytes(39)  # head = 2**248: 248 + 8 * 8 = 312 iterations
        data = _call(bytes(64), exponent, b"\x01" + bytes(63))
        self.assertEqual(modexp(data, 10**6)[0], 64 * 312 // 3)

    def test_minimum_gas(self):
        """A cheap call is charged the 200 minimum; 199 gas is not enough."""
        self.assertRaises(PrecompileFailure, modexp, _call(b"\x02", b"\x02", b"\x05"), 199)

    def test_huge_lengths_fail_on_gas(self):
        """Lengths near 2**256 fail on gas at once, without reading or allocating them."""
        for lengths in (
            (MAX_WORD, 1, 1),
            (1, 1, MAX_WORD),
            (1, MAX_WORD, 1),
            (2**64, 2**64, 2**64),
        ):
            with self.subTest(lengths=lengths):
                self.assertRaises(PrecompileFailure, modexp, _header(*lengths), 30_000_000)

    def test_huge_exponent_with_empty_operands(self):
        """Zero-length base and modulus: any exponent length costs 200 and returns nothing."""
        self.assertEqual(modexp(_header(0, MAX_WORD, 0), 200), (200, b""))

    def test_huge_exponent_offset(self):
        """A huge base length pushes the exponent head past the input: it reads as zero."""
        self.assertEqual(read_int(b"\x01\x02", 2**200, 32), 0)
        self.assertEqual(read_int(b"\x01\x02", 1, 3), 0x020000)
