"""Storage instructions: SLOAD, SSTORE (EIP-2200/2929/3529 gas), TLOAD, TSTORE (EIP-1153)."""

from zkos_tw.execution.exceptions import OutOfGas, WriteInStaticContext
from zkos_tw.execution.gas import (
    GAS_CALL_STIPEND,
    GAS_COLD_SLOAD,
    GAS_STORAGE_CLEAR_REFUND,
    GAS_STORAGE_SET,
    GAS_STORAGE_UPDATE,
    GAS_WARM_ACCESS,
    charge_gas,
)


def sload(evm) -> None:
    """SLOAD: read a storage slot of the executing account (warm 100, cold 2100)."""
    key = evm.stack.pop()
    current_target = evm.message.current_target
    slot = (current_target, key)
    if slot in evm.accessed_storage_keys:
        charge_gas(evm, GAS_WARM_ACCESS)
    else:
        evm.accessed_storage_keys.add(slot)
        charge_gas(evm, GAS_COLD_SLOAD)
    evm.stack.append(evm.state.get_storage(current_target, key))
    evm.pc += 1


def sstore(evm) -> None:
    """SSTORE: write a storage slot; gas and refunds depend on the original and current values."""
    stack = evm.stack
    key = stack.pop()
    new_value = stack.pop()
    if evm.gas_left <= GAS_CALL_STIPEND:
        raise OutOfGas
    state = evm.state
    current_target = evm.message.current_target
    original_value = state.get_original_storage(current_target, key)
    current_value = state.get_storage(current_target, key)

    gas_cost = 0
    slot = (current_target, key)
    if slot not in evm.accessed_storage_keys:
        evm.accessed_storage_keys.add(slot)
        gas_cost += GAS_COLD_SLOAD
    if original_value == current_value and current_value != new_value:
        if original_value == 0:
            gas_cost += GAS_STORAGE_SET
        else:
            gas_cost += GAS_STORAGE_UPDATE - GAS_COLD_SLOAD
    else:
        gas_cost += GAS_WARM_ACCESS

    if current_value != new_value:
        if original_value != 0 and current_value != 0 and new_value == 0:
            evm.refund_counter += GAS_STORAGE_CLEAR_REFUND
        if original_value != 0 and current_value == 0:
            evm.refund_counter -= GAS_STORAGE_CLEAR_REFUND
        if original_value == new_value:
            if original_value == 0:
                evm.refund_counter += GAS_STORAGE_SET - GAS_WARM_ACCESS
            else:
                evm.refund_counter += GAS_STORAGE_UPDATE - GAS_COLD_SLOAD - GAS_WARM_ACCESS

    charge_gas(evm, gas_cost)
    if evm.message.is_static:
        raise WriteInStaticContext
    state.set_storage(current_target, key, new_value)
    evm.pc += 1


def tload(evm) -> None:
    """TLOAD (EIP-1153): read a transient slot."""
    key = evm.stack.pop()
    charge_gas(evm, GAS_WARM_ACCESS)
    evm.stack.append(evm.state.get_transient_storage(evm.message.current_target, key))
    evm.pc += 1


def tstore(evm) -> None:
    """TSTORE (EIP-1153): write a transient slot; forbidden in a static context."""
    stack = evm.stack
    key = stack.pop()
    value = stack.pop()
    charge_gas(evm, GAS_WARM_ACCESS)
    if evm.message.is_static:
        raise WriteInStaticContext
    evm.state.set_transient_storage(evm.message.current_target, key, value)
    evm.pc += 1
