"""Comparison instructions: LT, GT, SLT, SGT, EQ, ISZERO (0x10-0x15)."""

from zkos_tw.execution.gas import GAS_VERY_LOW, charge_gas
from zkos_tw.execution.instructions.arithmetic import signed


def less_than(evm) -> None:
    """LT: 1 if a < b (unsigned) else 0."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(1 if a < b else 0)
    evm.pc += 1


def greater_than(evm) -> None:
    """GT: 1 if a > b (unsigned) else 0."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(1 if a > b else 0)
    evm.pc += 1


def signed_less_than(evm) -> None:
    """SLT: 1 if a < b (two's complement) else 0."""
    stack = evm.stack
    a = signed(stack.pop())
    b = signed(stack.pop())
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(1 if a < b else 0)
    evm.pc += 1


def signed_greater_than(evm) -> None:
    """SGT: 1 if a > b (two's complement) else 0."""
    stack = evm.stack
    a = signed(stack.pop())
    b = signed(stack.pop())
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(1 if a > b else 0)
    evm.pc += 1


def equal(evm) -> None:
    """EQ: 1 if a == b else 0."""
    stack = evm.stack
    a = stack.pop()
    b = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(1 if a == b else 0)
    evm.pc += 1


def is_zero(evm) -> None:
    """ISZERO: 1 if a == 0 else 0."""
    stack = evm.stack
    a = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    stack.append(0 if a else 1)
    evm.pc += 1
