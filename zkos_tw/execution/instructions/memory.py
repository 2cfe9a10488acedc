"""Memory instructions: MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY (EIP-5656)."""

from zkos_tw.execution.gas import (
    GAS_BASE,
    GAS_COPY,
    GAS_VERY_LOW,
    charge_gas,
    memory_extension,
    memory_extension_many,
)


def mload(evm) -> None:
    """MLOAD: read the 32-byte word at an offset."""
    stack = evm.stack
    start = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, start, 32)
    charge_gas(evm, GAS_VERY_LOW + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    stack.append(int.from_bytes(evm.memory[start : start + 32], "big"))
    evm.pc += 1


def mstore(evm) -> None:
    """MSTORE: write a 32-byte word at an offset."""
    stack = evm.stack
    start = stack.pop()
    value = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, start, 32)
    charge_gas(evm, GAS_VERY_LOW + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    evm.memory[start : start + 32] = value.to_bytes(32, "big")
    evm.pc += 1


def mstore8(evm) -> None:
    """MSTORE8: write the low byte of a word at an offset."""
    stack = evm.stack
    start = stack.pop()
    value = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, start, 1)
    charge_gas(evm, GAS_VERY_LOW + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    evm.memory[start] = value & 0xFF
    evm.pc += 1


def msize(evm) -> None:
    """MSIZE: the memory size in bytes (a multiple of 32)."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(len(evm.memory))
    evm.pc += 1


def mcopy(evm) -> None:
    """MCOPY (EIP-5656): copy a memory region, overlapping allowed."""
    stack = evm.stack
    destination = stack.pop()
    source = stack.pop()
    size = stack.pop()
    memory_gas, grow = memory_extension_many(evm.memory, ((source, size), (destination, size)))
    charge_gas(evm, GAS_VERY_LOW + GAS_COPY * ((size + 31) >> 5) + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    if size:
        memory = evm.memory
        memory[destination : destination + size] = memory[source : source + size]
    evm.pc += 1
