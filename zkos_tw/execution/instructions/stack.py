"""Stack instructions: POP (0x50), PUSH0 (0x5f), PUSH1-32, DUP1-16, SWAP1-16.

An empty-stack pop raises ``IndexError``, which the interpreter loop turns into
``StackUnderflow``; growth past 1024 items is checked once per instruction by the loop.
"""

from zkos_tw.execution.exceptions import OutOfGas
from zkos_tw.execution.gas import GAS_BASE, GAS_VERY_LOW, charge_gas

# PUSH, DUP and SWAP are most of all executed instructions, so they charge their fixed
# 3 gas inline rather than through ``charge_gas``; the rule is the same.


def pop(evm) -> None:
    """POP: drop the top item."""
    evm.stack.pop()
    charge_gas(evm, GAS_BASE)
    evm.pc += 1


def push0(evm) -> None:
    """PUSH0 (EIP-3855): push 0."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(0)
    evm.pc += 1


def make_push(size: int):
    """PUSH<size>: push the next ``size`` code bytes (zero-padded past the end)."""

    def push(evm) -> None:
        if evm.gas_left < GAS_VERY_LOW:
            raise OutOfGas
        evm.gas_left -= GAS_VERY_LOW
        start = evm.pc + 1
        evm.stack.append(int.from_bytes(evm.code[start : start + size], "big"))
        evm.pc = start + size

    push.__name__ = push.__qualname__ = f"push{size}"
    push.__doc__ = f"PUSH{size}: push the next {size} code bytes as a word."
    return push


def make_dup(depth: int):
    """DUP<depth>: push a copy of the depth-th item."""

    def dup(evm) -> None:
        stack = evm.stack
        item = stack[-depth]
        if evm.gas_left < GAS_VERY_LOW:
            raise OutOfGas
        evm.gas_left -= GAS_VERY_LOW
        stack.append(item)
        evm.pc += 1

    dup.__name__ = dup.__qualname__ = f"dup{depth}"
    dup.__doc__ = f"DUP{depth}: copy the item {depth} deep onto the top."
    return dup


def make_swap(depth: int):
    """SWAP<depth>: exchange the top with the item ``depth`` below it."""

    def swap(evm) -> None:
        stack = evm.stack
        other = stack[-1 - depth]
        if evm.gas_left < GAS_VERY_LOW:
            raise OutOfGas
        evm.gas_left -= GAS_VERY_LOW
        stack[-1 - depth] = stack[-1]
        stack[-1] = other
        evm.pc += 1

    swap.__name__ = swap.__qualname__ = f"swap{depth}"
    swap.__doc__ = f"SWAP{depth}: exchange the top item with the one {depth} below it."
    return swap


PUSH = [make_push(size) for size in range(1, 33)]
DUP = [make_dup(depth) for depth in range(1, 17)]
SWAP = [make_swap(depth) for depth in range(1, 17)]
