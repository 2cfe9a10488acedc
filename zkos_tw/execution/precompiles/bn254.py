"""0x06 ECADD, 0x07 ECMUL and 0x08 ECPAIRING on the bn254 (alt_bn128) curve (EIP-196, EIP-197).

Points are encoded as 32-byte big-endian coordinates, G1 as ``x || y`` and G2 as
``x_imag || x_real || y_imag || y_real``; all zeros is the point at infinity. Add and mul read
their input zero-padded (to 128 and 96 bytes); the pairing input must be a multiple of 192 bytes.
A coordinate not below the field prime, a point off its curve or a G2 point outside the r-order
subgroup makes the call fail. Gas (EIP-1108): 150, 6000 and ``45000 + 34000 * pairs``.

Arithmetic is py_ecc's ``optimized_bn128`` (projective coordinates). The pairing check is py_ecc's
optimal-ate Miller loop with two changes that keep every value the same and cut the time by more
than a third: the Frobenius maps ``f ** p`` and ``f ** p**2`` on Fp12 are linear maps with
precomputed tables instead of 254- and 508-bit exponentiations, and all pairs share one final
exponentiation, split into its easy part ``(p**6 - 1)(p**2 + 1)`` (a conjugation, one inversion,
one Frobenius) and its hard part ``(p**4 - p**2 + 1) / r``. The tests check both against py_ecc.
"""

from __future__ import annotations

import functools
import sys

# py_ecc raises the interpreter's recursion limit to 100,000 when it is first imported. At that
# limit a deeply nested input (a JSON-RPC body of 100,000 brackets) overflows the C stack on
# Python 3.11 and kills the process instead of raising RecursionError. Put the limit back to what
# the EVM needs (1024 nested calls of a few Python frames each) afterwards, whoever imported
# py_ecc first.
_RECURSION_LIMIT = 10_000

from py_ecc.optimized_bn128 import (  # noqa: E402 - next to the recursion limit fix
    FQ,
    FQ2,
    FQ12,
    b,
    b2,
    curve_order,
    double,
    field_modulus,
    is_inf,
    is_on_curve,
    multiply,
    neg,
    normalize,
    twist,
)
from py_ecc.optimized_bn128 import add as point_add  # noqa: E402
from py_ecc.optimized_bn128.optimized_pairing import (  # noqa: E402
    cast_point_to_fq12,
    linefunc,
    pseudo_binary_encoding,
)

from zkos_tw.execution.precompiles import PrecompileFailure  # noqa: E402

sys.setrecursionlimit(_RECURSION_LIMIT)

GAS_ECADD = 150
GAS_ECMUL = 6000
GAS_PAIRING_BASE = 45000
GAS_PAIRING_PER_PAIR = 34000
PAIR_LENGTH = 192


def _words(data: bytes, count: int) -> list[int]:
    """The first ``count`` 32-byte big-endian words of ``data``, zero-padded."""
    padded = bytes(data[: 32 * count]).ljust(32 * count, b"\x00")
    return [int.from_bytes(padded[i : i + 32], "big") for i in range(0, 32 * count, 32)]


def _field_elements(*values: int) -> None:
    """Fail unless every coordinate is a canonical field element (below the prime)."""
    for value in values:
        if value >= field_modulus:
            raise PrecompileFailure("bn254 coordinate is not below the field modulus")


def decode_g1(x: int, y: int) -> tuple:
    """The G1 point ``(x, y)`` in projective form; ``(0, 0)`` is infinity; fail if off the curve."""
    _field_elements(x, y)
    if x == 0 and y == 0:
        return (FQ.one(), FQ.one(), FQ.zero())
    point = (FQ(x), FQ(y), FQ.one())
    if not is_on_curve(point, b):
        raise PrecompileFailure("bn254 G1 point is not on the curve")
    # G1 has cofactor 1: every point on the curve is in the r-order group.
    return point


def decode_g2(x_imag: int, x_real: int, y_imag: int, y_real: int) -> tuple:
    """The G2 point in projective form; all zeros is infinity; fail if off the twist or subgroup."""
    _field_elements(x_imag, x_real, y_imag, y_real)
    if x_imag == x_real == y_imag == y_real == 0:
        return (FQ2.one(), FQ2.one(), FQ2.zero())
    point = (FQ2([x_real, x_imag]), FQ2([y_real, y_imag]), FQ2.one())
    if not is_on_curve(point, b2):
        raise PrecompileFailure("bn254 G2 point is not on the twisted curve")
    if not is_inf(multiply(point, curve_order)):
        raise PrecompileFailure("bn254 G2 point is not in the r-order subgroup")
    return point


def encode_g1(point: tuple) -> bytes:
    """The 64-byte encoding of a G1 point; infinity is all zeros."""
    if is_inf(point):
        return bytes(64)
    x, y = normalize(point)
    return x.n.to_bytes(32, "big") + y.n.to_bytes(32, "big")


def ecadd(data: bytes, gas: int) -> tuple[int, bytes]:
    """The ECADD precompile: the sum of two G1 points."""
    if GAS_ECADD > gas:
        raise PrecompileFailure("out of gas")
    x0, y0, x1, y1 = _words(data, 4)
    return GAS_ECADD, encode_g1(point_add(decode_g1(x0, y0), decode_g1(x1, y1)))


def ecmul(data: bytes, gas: int) -> tuple[int, bytes]:
    """The ECMUL precompile: a G1 point times a 256-bit scalar."""
    if GAS_ECMUL > gas:
        raise PrecompileFailure("out of gas")
    x, y, scalar = _words(data, 3)
    point = decode_g1(x, y)
    # The group has prime order r, so reducing the scalar mod r gives the same point, faster.
    return GAS_ECMUL, encode_g1(multiply(point, scalar % curve_order))


# The exponent of the hard part of the final exponentiation; r divides p**4 - p**2 + 1.
HARD_EXPONENT = (field_modulus**4 - field_modulus**2 + 1) // curve_order


@functools.cache
def frobenius_table(power: int) -> tuple:
    """Coefficients of ``w ** (i * p**power)`` for i = 0..11, w the generator of Fp12 over Fp."""
    w_power = FQ12([0, 1] + [0] * 10) ** (field_modulus**power)
    rows = [FQ12.one()]
    for _ in range(11):
        rows.append(rows[-1] * w_power)
    return tuple(row.coeffs for row in rows)


def frobenius(f, power: int = 1):
    """``f ** (p ** power)``: the coefficients are in Fp, so only the powers of w move."""
    table = frobenius_table(power)
    c = f.coeffs
    return FQ12([sum(c[i] * table[i][j] for i in range(12)) for j in range(12)])


def conjugate(f):
    """``f ** (p ** 6)``, which maps w to -w (Fp12 is Fp6(w) with w**2 in Fp6)."""
    return FQ12([c if i % 2 == 0 else -c for i, c in enumerate(f.coeffs)])


def final_exponentiation(f):
    """``f ** ((p**12 - 1) / r)``, as ``((f^(p^6 - 1)) ^ (p^2 + 1)) ^ ((p^4 - p^2 + 1) / r)``."""
    f = conjugate(f) / f
    f = frobenius(f, 2) * f
    return f**HARD_EXPONENT


def miller_loop_fraction(q: tuple, p: tuple) -> tuple:
    """py_ecc's optimal-ate Miller loop on twisted Q and P in Fp12, as (numerator, denominator)."""
    r = q
    neg_q = neg(q)
    f_num, f_den = FQ12.one(), FQ12.one()
    for digit in pseudo_binary_encoding[63::-1]:
        n, d = linefunc(r, r, p)
        f_num = f_num * f_num * n
        f_den = f_den * f_den * d
        r = double(r)
        if digit:
            step = q if digit == 1 else neg_q
            n, d = linefunc(r, step, p)
            f_num = f_num * n
            f_den = f_den * d
            r = point_add(r, step)
    q1 = (frobenius(q[0]), frobenius(q[1]), frobenius(q[2]))
    neg_q2 = (frobenius(q1[0]), -frobenius(q1[1]), frobenius(q1[2]))
    n1, d1 = linefunc(r, q1, p)
    r = point_add(r, q1)
    n2, d2 = linefunc(r, neg_q2, p)
    return f_num * n1 * n2, f_den * d1 * d2


def pairing_check(pairs: list[tuple[tuple, tuple]]) -> bool:
    """Whether the product of e(P, Q) over the (G1, G2) pairs is one."""
    numerator, denominator = FQ12.one(), FQ12.one()
    for p, q in pairs:
        if is_inf(p) or is_inf(q):
            continue
        n, d = miller_loop_fraction(twist(q), cast_point_to_fq12(p))
        numerator = numerator * n
        denominator = denominator * d
    if numerator == denominator:
        return True
    return final_exponentiation(numerator / denominator) == FQ12.one()


def ecpairing(data: bytes, gas: int) -> tuple[int, bytes]:
    """The ECPAIRING precompile: 32-byte 1 if the pairing product is one, else 0."""
    count = len(data) // PAIR_LENGTH
    cost = GAS_PAIRING_BASE + GAS_PAIRING_PER_PAIR * count
    if cost > gas:
        raise PrecompileFailure("out of gas")
    if len(data) % PAIR_LENGTH:
        raise PrecompileFailure("bn254 pairing input is not a multiple of 192 bytes")
    pairs = []
    for offset in range(0, len(data), PAIR_LENGTH):
        words = _words(data[offset : offset + PAIR_LENGTH], 6)
        pairs.append((decode_g1(words[0], words[1]), decode_g2(*words[2:6])))
    return cost, (1 if pairing_check(pairs) else 0).to_bytes(32, "big")
