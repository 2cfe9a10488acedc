"""Arithmetic instructions: ADD .. SIGNEXTEND (0x01-0x0b), on 256-bit words."""

from zkos_tw.execution.gas import (
    GAS_EXPONENTIATION,
    GAS_EXPONENTIATION_PER_BYTE,
    GAS_LOW,
    GAS_MID,
    GAS_VERY_LOW,
    charge_gas,
)

MASK = 2**256 - 1
SIGN_BIT = 2**255
TWO_256 = 2**256


def signed(value: int) -> int:
    """The two's-complement reading of a 256-bit word."""
    return value - TWO_256 if value & SIGN_BIT else value


def add(evm) -> None:
    """ADD: a + b modulo 2**256."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append((a + b) & MASK)
    evm.pc += 1


def sub(evm) -> None:
    """SUB: a - b modulo 2**256."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append((a - b) & MASK)
    evm.pc += 1


def mul(evm) -> None:
    """MUL: a * b modulo 2**256."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_LOW)
    stack.append((a * b) & MASK)
    evm.pc += 1


def div(evm) -> None:
    """DIV: unsigned a // b, 0 when b is 0."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_LOW)
    stack.append(a // b if b else 0)
    evm.pc += 1


def sdiv(evm) -> None:
    """SDIV: signed division rounding toward zero, 0 when b is 0."""
    stack = evm.stack
    a = signed(stack.pop())
    b = signed(stack.pop())
    charge_gas(evm, GAS_LOW)
    if b == 0:
        quotient = 0
    else:
        quotient = abs(a) // abs(b)
        if (a < 0) != (b < 0):
            quotient = -quotient
    stack.append(quotient & MASK)
    evm.pc += 1


def mod(evm) -> None:
    """MOD: unsigned a % b, 0 when b is 0."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_LOW)
    stack.append(a % b if b else 0)
    evm.pc += 1


def smod(evm) -> None:
    """SMOD: signed remainder with the sign of a, 0 when b is 0."""
    stack = evm.stack
    a = signed(stack.pop())
    b = signed(stack.pop())
    charge_gas(evm, GAS_LOW)
    if b == 0:
        remainder = 0
    else:
        remainder = abs(a) % abs(b)
        if a < 0:
            remainder = -remainder
    stack.append(remainder & MASK)
    evm.pc += 1


def addmod(evm) -> None:
    """ADDMOD: (a + b) % n without overflow, 0 when n is 0."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    n = stack.pop()
    charge_gas(evm, GAS_MID)
    stack.append((a + b) % n if n else 0)
    evm.pc += 1


def mulmod(evm) -> None:
    """MULMOD: (a * b) % n without overflow, 0 when n is 0."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    n = stack.pop()
    charge_gas(evm, GAS_MID)
    stack.append((a * b) % n if n else 0)
    evm.pc += 1


def exp(evm) -> None:
    """EXP: base ** exponent modulo 2**256; 50 gas per byte of the exponent."""
    stack = evm.stack
    base = stack.pop()
    exponent = stack.pop()
    exponent_bytes = (exponent.bit_length() + 7) // 8
    charge_gas(evm, GAS_EXPONENTIATION + GAS_EXPONENTIATION_PER_BYTE * exponent_bytes)
    stack.append(pow(base, exponent, TWO_256))
    evm.pc += 1


def signextend(evm) -> None:
    """SIGNEXTEND: extend the sign of the (b+1)-byte value x to 256 bits."""
    stack = evm.stack
    byte_num = stack.pop()
    value = stack.pop()
    charge_gas(evm, GAS_LOW)
    if byte_num < 31:
        sign_bit = 1 << (byte_num * 8 + 7)
        if value & sign_bit:
            value |= MASK ^ ((sign_bit << 1) - 1)
        else:
            value &= (sign_bit << 1) - 1
    stack.append(value)
    evm.pc += 1
