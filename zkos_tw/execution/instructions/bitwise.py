"""Bitwise instructions: AND, OR, XOR, NOT, BYTE, SHL, SHR, SAR (0x16-0x1d)."""

from zkos_tw.execution.gas import GAS_VERY_LOW, charge_gas
from zkos_tw.execution.instructions.arithmetic import MASK, signed


def bitwise_and(evm) -> None:
    """AND."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(a & b)
    evm.pc += 1


def bitwise_or(evm) -> None:
    """OR."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(a | b)
    evm.pc += 1


def bitwise_xor(evm) -> None:
    """XOR."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(a ^ b)
    evm.pc += 1


def bitwise_not(evm) -> None:
    """NOT: flip all 256 bits."""
    stack = evm.stack
    a = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(MASK ^ a)
    evm.pc += 1


def get_byte(evm) -> None:
    """BYTE: the i-th byte of x counting from the most significant; 0 for i >= 32."""
    stack = evm.stack
    index = stack.pop()
    word = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append((word >> (248 - index * 8)) & 0xFF if index < 32 else 0)
    evm.pc += 1


def shift_left(evm) -> None:
    """SHL (EIP-145): value << shift modulo 2**256."""
    stack = evm.stack
    shift = stack.pop()
    value = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append((value << shift) & MASK if shift < 256 else 0)
    evm.pc += 1


def shift_right(evm) -> None:
    """SHR (EIP-145): logical value >> shift."""
    stack = evm.stack
    shift = stack.pop()
    value = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(value >> shift if shift < 256 else 0)
    evm.pc += 1


def shift_arithmetic_right(evm) -> None:
    """SAR (EIP-145): arithmetic value >> shift, filling with the sign bit."""
    stack = evm.stack
    shift = stack.pop()
    value = signed(stack.pop())
    charge_gas(evm, GAS_VERY_LOW)
    if shift >= 256:
        shift = 256
    stack.append((value >> shift) & MASK)
    evm.pc += 1
