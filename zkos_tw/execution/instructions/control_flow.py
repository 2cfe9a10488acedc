"""Control-flow instructions: STOP, JUMP, JUMPI, PC, GAS, JUMPDEST, INVALID."""

from zkos_tw.execution.exceptions import InvalidJumpDestination, InvalidOpcode, OutOfGas
from zkos_tw.execution.gas import GAS_BASE, GAS_HIGH, GAS_JUMPDEST, GAS_MID, charge_gas


def stop(evm) -> None:
    """STOP: end the frame successfully with empty output."""
    evm.running = False
    evm.pc += 1


def jump(evm) -> None:
    """JUMP: continue at a JUMPDEST."""
    destination = evm.stack.pop()
    charge_gas(evm, GAS_MID)
    if destination not in evm.valid_jump_destinations:
        raise InvalidJumpDestination
    evm.pc = destination


def jumpi(evm) -> None:
    """JUMPI: continue at a JUMPDEST if the condition is non-zero."""
    stack = evm.stack
    destination = stack.pop()
    condition = stack.pop()
    charge_gas(evm, GAS_HIGH)
    if condition:
        if destination not in evm.valid_jump_destinations:
            raise InvalidJumpDestination
        evm.pc = destination
    else:
        evm.pc += 1


def pc(evm) -> None:
    """PC: the position of this instruction."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.pc)
    evm.pc += 1


def gas_left(evm) -> None:
    """GAS: gas left after paying for this instruction."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.gas_left)
    evm.pc += 1


def jumpdest(evm) -> None:
    """JUMPDEST: marks a jump target."""
    if evm.gas_left < GAS_JUMPDEST:
        raise OutOfGas
    evm.gas_left -= GAS_JUMPDEST
    evm.pc += 1


def invalid(evm) -> None:
    """INVALID (0xfe) and every undefined opcode: halt, consuming all gas."""
    raise InvalidOpcode(evm.code[evm.pc])
