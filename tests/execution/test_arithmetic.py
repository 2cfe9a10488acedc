"""Arithmetic, comparison and bitwise instructions (zkos_tw.execution.instructions)."""

from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import MASK, compute, push, run_code

ADD, MUL, SUB, DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, EXP, SIGNEXTEND = (
    bytes([op]) for op in (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B)
)
LT, GT, SLT, SGT, EQ, ISZERO = (bytes([op]) for op in range(0x10, 0x16))
AND, OR, XOR, NOT, BYTE, SHL, SHR, SAR = (bytes([op]) for op in range(0x16, 0x1E))


def neg(value: int) -> int:
    """Two's complement of -value as a 256-bit word."""
    return (-value) & MASK


class ArithmeticTests(SynchronousTestCase):
    """ADD .. SIGNEXTEND wrap modulo 2**256 and treat division by zero as 0."""

    def test_add_wraps(self):
        """ADD of MAX and 1 wraps to 0."""
        self.assertEqual(compute(push(1), push(MASK), ADD), 0)

    def test_sub_wraps(self):
        """SUB 0 - 1 gives 2**256 - 1 (operands: a is the top of the stack)."""
        self.assertEqual(compute(push(1), push(0), SUB), MASK)

    def test_mul(self):
        """MUL keeps the low 256 bits."""
        self.assertEqual(compute(push(2), push(2**255), MUL), 0)
        self.assertEqual(compute(push(6), push(7), MUL), 42)

    def test_div_and_mod_by_zero(self):
        """DIV and MOD by zero push 0."""
        self.assertEqual(compute(push(0), push(5), DIV), 0)
        self.assertEqual(compute(push(0), push(5), MOD), 0)
        self.assertEqual(compute(push(3), push(10), DIV), 3)

    def test_sdiv_signs(self):
        """SDIV rounds toward zero and -2**255 / -1 overflows to -2**255."""
        self.assertEqual(compute(push(2), push(neg(7)), SDIV), neg(3))
        self.assertEqual(compute(push(neg(1)), push(2**255), SDIV), 2**255)

    def test_smod_takes_sign_of_dividend(self):
        """SMOD: -7 % 3 == -1 and 7 % -3 == 1."""
        self.assertEqual(compute(push(3), push(neg(7)), SMOD), neg(1))
        self.assertEqual(compute(push(neg(3)), push(7), SMOD), 1)

    def test_addmod_mulmod_do_not_overflow(self):
        """ADDMOD and MULMOD compute on unbounded integers before the modulus."""
        self.assertEqual(compute(push(7), push(MASK), push(MASK), ADDMOD), (2 * MASK) % 7)
        self.assertEqual(compute(push(12), push(MASK), push(MASK), MULMOD), (MASK * MASK) % 12)
        self.assertEqual(compute(push(0), push(1), push(1), MULMOD), 0)

    def test_exp_and_its_gas(self):
        """EXP is modular; it costs 10 + 50 per exponent byte."""
        self.assertEqual(compute(push(3), push(2), EXP), 8)
        self.assertEqual(compute(push(256), push(2), EXP), 0)
        frame = run_code(push(0x1234) + push(2) + EXP, gas=1000)
        self.assertEqual(1000 - frame.gas_left, 3 + 3 + 10 + 2 * 50)

    def test_signextend(self):
        """SIGNEXTEND copies bit 8(b+1)-1 upward; b >= 31 leaves the value alone."""
        self.assertEqual(compute(push(0xFF), push(0), SIGNEXTEND), MASK)
        self.assertEqual(compute(push(0x7F), push(0), SIGNEXTEND), 0x7F)
        self.assertEqual(compute(push(0x1FF), push(0), SIGNEXTEND), MASK)
        self.assertEqual(compute(push(0x1234), push(40), SIGNEXTEND), 0x1234)


class ComparisonTests(SynchronousTestCase):
    """LT, GT, SLT, SGT, EQ, ISZERO."""

    def test_unsigned(self):
        """LT and GT compare unsigned words."""
        self.assertEqual(compute(push(2), push(1), LT), 1)
        self.assertEqual(compute(push(2), push(1), GT), 0)
        self.assertEqual(compute(push(1), push(MASK), GT), 1)

    def test_signed(self):
        """SLT and SGT read words as two's complement."""
        self.assertEqual(compute(push(1), push(MASK), SLT), 1)
        self.assertEqual(compute(push(1), push(MASK), SGT), 0)

    def test_eq_iszero(self):
        """EQ and ISZERO push 1 or 0."""
        self.assertEqual(compute(push(5), push(5), EQ), 1)
        self.assertEqual(compute(push(0), ISZERO), 1)
        self.assertEqual(compute(push(9), ISZERO), 0)


class BitwiseTests(SynchronousTestCase):
    """AND, OR, XOR, NOT, BYTE and the EIP-145 shifts."""

    def test_logic(self):
        """AND, OR, XOR, NOT."""
        self.assertEqual(compute(push(0b1100), push(0b1010), AND), 0b1000)
        self.assertEqual(compute(push(0b1100), push(0b1010), OR), 0b1110)
        self.assertEqual(compute(push(0b1100), push(0b1010), XOR), 0b0110)
        self.assertEqual(compute(push(0), NOT), MASK)

    def test_byte(self):
        """BYTE counts from the most significant byte; index >= 32 gives 0."""
        self.assertEqual(compute(push(0xAB << 248), push(0), BYTE), 0xAB)
        self.assertEqual(compute(push(0xCD), push(31), BYTE), 0xCD)
        self.assertEqual(compute(push(0xCD), push(32), BYTE), 0)

    def test_shifts(self):
        """SHL, SHR and SAR, including shifts of 256 and more."""
        self.assertEqual(compute(push(1), push(255), SHL), 2**255)
        self.assertEqual(compute(push(1), push(256), SHL), 0)
        self.assertEqual(compute(push(2**255), push(255), SHR), 1)
        self.assertEqual(compute(push(2**255), push(1), SAR), (2**255 | 2**254))
        self.assertEqual(compute(push(2**255), push(300), SAR), MASK)
        self.assertEqual(compute(push(2**254), push(300), SAR), 0)
