"""KECCAK256 (0x20): hash a slice of memory."""

from zkos_tw.execution.gas import GAS_KECCAK256, GAS_KECCAK256_WORD, charge_gas, memory_extension
from zkos_tw.hashing import keccak256


def keccak(evm) -> None:
    """KECCAK256: push keccak-256 of memory[start:start+size]."""
    stack = evm.stack
    start = stack.pop()
    size = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, start, size)
    charge_gas(evm, GAS_KECCAK256 + GAS_KECCAK256_WORD * ((size + 31) >> 5) + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    stack.append(int.from_bytes(keccak256(bytes(evm.memory[start : start + size])), "big"))
    evm.pc += 1
