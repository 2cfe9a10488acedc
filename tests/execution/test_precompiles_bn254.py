"""Tests of the bn254 precompiles ECADD (0x06), ECMUL (0x07) and ECPAIRING (0x08).

Known answers come from go-ethereum's ``core/vm/testdata/precompiles/bn256Add.json``,
``bn256ScalarMul.json`` and ``bn256Pairing.json``. A pairing check costs about half a second per
pair in pure Python, so only two real ones run here ("jeff1" and "one_point"); every failure case
fails before the Miller loop. The faster Frobenius and final exponentiation are checked against
py_ecc's plain ones.
"""

import random

from py_ecc import optimized_bn128 as bn128
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, miller_loop
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.execution.precompiles import PRECOMPILES, PrecompileFailure
from zkos_tw.execution.precompiles.bn254 import (
    conjugate,
    ecadd,
    ecmul,
    ecpairing,
    final_exponentiation,
    frobenius,
    miller_loop_fraction,
)

FIELD_MODULUS = 0x30644E72E131A029B85045B68181585D97816A916871CA8D3C208C16D87CFD47
CURVE_ORDER = 0x30644E72E131A029B85045B68181585D2833E84879B9709143E1F593F0000001

G1 = (1).to_bytes(32, "big") + (2).to_bytes(32, "big")
G1_DOUBLE = bytes.fromhex(
    "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3"
    "15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4"
)
# The G2 generator as x_imag || x_real || y_imag || y_real.
G2 = bytes.fromhex(
    "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
    "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
    "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"
    "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"
)
# A point on the twisted curve (x = 2 + i) that is not in the r-order subgroup.
G2_OUTSIDE_SUBGROUP = bytes.fromhex(
    "0000000000000000000000000000000000000000000000000000000000000001"
    "0000000000000000000000000000000000000000000000000000000000000002"
    "2b76c179599bb92a963dac85546a005a777f7c13f6a7b75d5918b6b5808f5fde"
    "101f7278419308b95099eca02dcee0c5381f4d26d1d62313f057167f064101ce"
)

# go-ethereum bn256Add.json "chfast1"
ADD_CHFAST1 = (
    "18b18acfb4c2c30276db5411368e7185b311dd124691610c5d3b74034e093dc9"
    "063c909c4720840cb5134cb9f59fa749755796819658d32efc0d288198f37266"
    "07c2b7f58a84bd6145f00c9c2bc0bb1a187f20ff2c92963a88019e7c6a014eed"
    "06614e20c147e940f2d70da3f74c9a17df361706a4485c742bd6788478fa17d7",
    "2243525c5efd4b9c3d3c45ac0ca3fe4dd85e830a4ce6b65fa1eeaee202839703"
    "301d1d33be6da8e509df21cc35964723180eed7532537db9ae5e7d48f195c915",
)
# go-ethereum bn256Add.json "cdetrio13" / "cdetrio14": P + Q, and P + (-P) = infinity.
P13 = (
    "17c139df0efee0f766bc0204762b774362e4ded88953a39ce849a8a7fa163fa9"
    "01e0559bacb160664764a357af8a9fe70baa9258e0b959273ffc5718c6d4cc7c"
)
P13_NEG = (
    "17c139df0efee0f766bc0204762b774362e4ded88953a39ce849a8a7fa163fa9"
    "2e83f8d734803fc370eba25ed1f6b8768bd6d83887b87165fc2434fe11a830cb"
)
ADD_CDETRIO13 = (
    P13
    + "039730ea8dff1254c0fee9c0ea777d29a9c710b7e616683f194f18c43b43b869"
    + "073a5ffcc6fc7a28c30723d6e58ce577356982d65b833a5a5c15bf9024b43d98",
    "15bf2bb17880144b5d1cd2b1f46eff9d617bffd1ca57c37fb5a49bd84e53cf66"
    "049c797f9ce0d17083deb32b5e36f2ea2a212ee036598dd7624c168993d1355f",
)

MUL_VECTORS = [
    # (name, scalar, expected) for P13 from go-ethereum bn256ScalarMul.json cdetrio6-10
    (
        "cdetrio6",
        2**256 - 1,
        "29e587aadd7c06722aabba753017c093f70ba7eb1f1c0104ec0564e7e3e21f60"
        "22b1143f6a41008e7755c71c3d00b6b915d386de21783ef590486d8afa8453b1",
    ),
    ("cdetrio7", CURVE_ORDER - 1, P13_NEG),
    (
        "cdetrio8",
        2**128,
        "221a3577763877920d0d14a91cd59b9479f83b87a653bb41f82a3f6f120cea7c"
        "2752c7f64cdd7f0e494bff7b60419f242210f2026ed2ec70f89f78a4c56a1f15",
    ),
    (
        "cdetrio9",
        9,
        "228e687a379ba154554040f8821f4e41ee2be287c201aa9c3bc02c9dd12f1e69"
        "1e0fd6ee672d04cfd924ed8fdc7ba5f2d06c53c1edc30f65f2af5a5b97f0a76a",
    ),
    ("cdetrio10", 1, P13),
]

# go-ethereum bn256Pairing.json "jeff1": two pairs whose pairing product is one.
PAIRING_JEFF1 = (
    bytes.fromhex(
        "1c76476f4def4bb94541d57ebba1193381ffa7aa76ada664dd31c16024c43f59"
        "3034dd2920f673e204fee2811c678745fc819b55d3e9d294e45c9b03a76aef41"
        "209dd15ebff5d46c4bd888e51a93cf99a7329636c63514396b4a452003a35bf7"
        "04bf11ca01483bfa8b34b43561848d28905960114c8ac04049af4b6315a41678"
        "2bb8324af6cfc93537a2ad1a445cfd0ca2a71acd7ac41fadbf933c2a51be344d"
        "120a2a4cf30c1bf9845f20c6fe39e07ea2cce61f0c9bb048165fe5e4de877550"
        "111e129f1cf1097710d41c4ac70fcdfa5ba2023c6ff1cbeac322de49d1b6df7c"
        "2032c61a830e3c17286de9462bf242fca2883585b93870a73853face6a6bf411"
    )
    + G2
)

ONE = (1).to_bytes(32, "big")
ZERO = bytes(32)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


class EcaddTests(SynchronousTestCase):
    """0x06: G1 addition, 150 gas."""

    def test_registered(self):
        """The three bn254 precompiles are at 0x06, 0x07 and 0x08."""
        self.assertIs(PRECOMPILES[(6).to_bytes(20, "big")], ecadd)
        self.assertIs(PRECOMPILES[(7).to_bytes(20, "big")], ecmul)
        self.assertIs(PRECOMPILES[(8).to_bytes(20, "big")], ecpairing)

    def test_vectors(self):
        """Known sums, at 150 gas."""
        for data, expected in (ADD_CHFAST1, ADD_CDETRIO13):
            self.assertEqual(ecadd(bytes.fromhex(data), 150), (150, bytes.fromhex(expected)))

    def test_doubling(self):
        """G + G takes the doubling path (cdetrio11)."""
        self.assertEqual(ecadd(G1 + G1, 150), (150, G1_DOUBLE))

    def test_inverse_gives_infinity(self):
        """P + (-P) is the point at infinity, encoded as 64 zero bytes (cdetrio14)."""
        self.assertEqual(ecadd(bytes.fromhex(P13 + P13_NEG), 150), (150, bytes(64)))

    def test_infinity_and_padding(self):
        """Empty or short input reads as infinities; infinity is the identity."""
        self.assertEqual(ecadd(b"", 150), (150, bytes(64)))
        self.assertEqual(ecadd(bytes(64) + G1, 150), (150, G1))
        self.assertEqual(ecadd(G1, 150), (150, G1))
        self.assertEqual(ecadd(G1 + bytes(64) + b"\xff" * 64, 150), (150, G1))

    def test_invalid_points(self):
        """A point off the curve or a coordinate not below the field modulus fails."""
        for bad in (
            _word(1) + _word(3),
            _word(1) + _word(2 + FIELD_MODULUS),
            _word(FIELD_MODULUS) + _word(0),
            _word(0) + _word(1),
        ):
            with self.subTest(point=bad.hex()):
                self.assertRaises(PrecompileFailure, ecadd, G1 + bad, 10**6)
                self.assertRaises(PrecompileFailure, ecadd, bad + G1, 10**6)

    def test_out_of_gas(self):
        """149 gas is not enough."""
        self.assertRaises(PrecompileFailure, ecadd, G1 + G1, 149)


class EcmulTests(SynchronousTestCase):
    """0x07: G1 scalar multiplication, 6000 gas."""

    def test_vectors(self):
        """Known products for scalars from 1 to 2**256 - 1, at 6000 gas."""
        for name, scalar, expected in MUL_VECTORS:
            with self.subTest(name=name):
                data = bytes.fromhex(P13) + _word(scalar)
                self.assertEqual(ecmul(data, 6000), (6000, bytes.fromhex(expected)))

    def test_small_multiples(self):
        """2 * G equals G + G; 0 * G and r * G are infinity."""
        self.assertEqual(ecmul(G1 + _word(2), 6000), (6000, G1_DOUBLE))
        self.assertEqual(ecmul(G1 + _word(0), 6000), (6000, bytes(64)))
        self.assertEqual(ecmul(G1 + _word(CURVE_ORDER), 6000), (6000, bytes(64)))

    def test_infinity_and_padding(self):
        """Infinity times anything is infinity; a missing scalar reads as zero."""
        self.assertEqual(ecmul(bytes(64) + _word(5), 6000), (6000, bytes(64)))
        self.assertEqual(ecmul(b"", 6000), (6000, bytes(64)))
        self.assertEqual(ecmul(G1, 6000), (6000, bytes(64)))
        self.assertEqual(ecmul(G1 + b"\x01", 6000), ecmul(G1 + _word(1 << 248), 6000))

    def test_invalid_points(self):
        """A point off the curve or out of the field fails, even with a zero scalar."""
        for bad in (_word(1) + _word(3), _word(FIELD_MODULUS + 1) + _word(2)):
            with self.subTest(point=bad.hex()):
                self.assertRaises(PrecompileFailure, ecmul, bad + _word(0), 10**6)
                self.assertRaises(PrecompileFailure, ecmul, bad + _word(2), 10**6)

    def test_out_of_gas(self):
        """5999 gas is not enough."""
        self.assertRaises(PrecompileFailure, ecmul, G1 + _word(2), 5999)


class EcpairingTests(SynchronousTestCase):
    """0x08: the pairing product check, 45000 + 34000 gas per pair."""

    def test_two_pairs_product_one(self):
        """go-ethereum "jeff1": two pairs whose product is one, at 113000 gas."""
        self.assertEqual(ecpairing(PAIRING_JEFF1, 113000), (113000, ONE))

    def test_one_pair_not_one(self):
        """e(G1, G2) alone is not one (go-ethereum "one_point"), at 79000 gas."""
        self.assertEqual(ecpairing(G1 + G2, 79000), (79000, ZERO))

    def test_empty_input(self):
        """No pairs: the empty product is one, at 45000 gas."""
        self.assertEqual(ecpairing(b"", 45000), (45000, ONE))

    def test_infinity_pairs(self):
        """A pair with an infinity contributes one; the points are still validated."""
        self.assertEqual(ecpairing(bytes(64) + G2, 10**6), (79000, ONE))
        self.assertEqual(ecpairing(G1 + bytes(128) + bytes(192), 10**6), (113000, ONE))
        self.assertRaises(PrecompileFailure, ecpairing, _word(1) + _word(3) + bytes(128), 10**6)
        self.assertRaises(PrecompileFailure, ecpairing, bytes(64) + G2_OUTSIDE_SUBGROUP, 10**6)

    def test_bad_length(self):
        """Input that is not a whole number of 192-byte pairs fails."""
        for length in (1, 191, 193, 383):
            with self.subTest(length=length):
                self.assertRaises(PrecompileFailure, ecpairing, bytes(length), 10**6)

    def test_invalid_g1(self):
        """A G1 point off the curve, or with a coordinate not below the modulus, fails."""
        for bad in (_word(1) + _word(3), _word(FIELD_MODULUS) + _word(0)):
            with self.subTest(point=bad.hex()):
                self.assertRaises(PrecompileFailure, ecpairing, bad + G2, 10**6)

    def test_invalid_g2(self):
        """A G2 point off the twist, outside the subgroup or out of the field fails."""
        off_curve = G2[:-1] + bytes((G2[-1] ^ 1,))
        out_of_field = _word(FIELD_MODULUS) + G2[32:]
        swapped = G2[32:64] + G2[0:32] + G2[96:128] + G2[64:96]  # real/imaginary swapped
        for name, bad in (
            ("off the twist", off_curve),
            ("outside the subgroup", G2_OUTSIDE_SUBGROUP),
            ("out of the field", out_of_field),
            ("swapped coordinates", swapped),
        ):
            with self.subTest(name=name):
                self.assertRaises(PrecompileFailure, ecpairing, G1 + bad, 10**6)

    def test_out_of_gas(self):
        """One gas short of 45000 + 34000 per pair fails before any work."""
        self.assertRaises(PrecompileFailure, ecpairing, PAIRING_JEFF1, 112999)
        self.assertRaises(PrecompileFailure, ecpairing, b"", 44999)
        self.assertRaises(PrecompileFailure, ecpairing, bytes(192 * 1000), 34_044_999)


class PairingArithmeticTests(SynchronousTestCase):
    """The Frobenius shortcuts and split final exponentiation equal py_ecc's plain versions."""

    def setUp(self):
        rng = random.Random(4844)
        self.f = bn128.FQ12([rng.randrange(FIELD_MODULUS) for _ in range(12)])

    def test_frobenius(self):
        """frobenius(f, k) is f ** (p ** k); conjugate(f) is f ** (p ** 6)."""
        self.assertEqual(frobenius(self.f), self.f**FIELD_MODULUS)
        self.assertEqual(frobenius(self.f, 2), self.f ** (FIELD_MODULUS**2))
        self.assertEqual(conjugate(self.f), self.f ** (FIELD_MODULUS**6))

    def test_final_exponentiation(self):
        """The split final exponentiation equals f ** ((p**12 - 1) / r)."""
        self.assertEqual(final_exponentiation(self.f), bn128.final_exponentiate(self.f))

    def test_miller_loop(self):
        """The Miller loop fraction equals py_ecc's Miller loop before final exponentiation."""
        q = bn128.twist(bn128.multiply(bn128.G2, 5))
        p = cast_point_to_fq12(bn128.multiply(bn128.G1, 7))
        numerator, denominator = miller_loop_fraction(q, p)
        self.assertEqual(numerator / denominator, miller_loop(q, p, final_exponentiate=False))


class RecursionLimitTests(SynchronousTestCase):
    """Importing py_ecc must not leave the interpreter's recursion limit at 100,000."""

    def test_limit_restored(self):
        """With the limit py_ecc sets, nested input overflows the C stack instead of raising."""
        import subprocess
        import sys

        # In a fresh interpreter: in this one, other tests (hypothesis raises the limit while
        # a test runs) may have moved the limit, and the module is imported already.
        script = (
            "import sys; import zkos_tw.execution.precompiles.bn254; print(sys.getrecursionlimit())"
        )
        limit = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, check=True, text=True
        ).stdout
        self.assertLessEqual(int(limit), 10_000)
