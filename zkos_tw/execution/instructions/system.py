"""System instructions: CREATE, CREATE2, CALL, CALLCODE, DELEGATECALL, STATICCALL, RETURN,
REVERT and SELFDESTRUCT (EIP-6780).

Calls and creates build a child ``Message`` and run it through ``zkos_tw.execution.interpreter``;
the child's gas, logs, refunds, warm sets and deletions flow back only when it succeeds.
"""

from zkos_tw.execution.exceptions import OutOfGas, Revert, WriteInStaticContext
from zkos_tw.execution.gas import (
    GAS_CALL_VALUE,
    GAS_CREATE,
    GAS_KECCAK256_WORD,
    GAS_NEW_ACCOUNT,
    GAS_SELF_DESTRUCT,
    GAS_SELF_DESTRUCT_NEW_ACCOUNT,
    charge_gas,
    init_code_cost,
    max_message_call_gas,
    memory_extension,
    memory_extension_many,
    message_call_gas,
)
from zkos_tw.execution.instructions.environment import access_account
from zkos_tw.execution.interpreter import (
    create2_address,
    create_address,
    incorporate_child_on_error,
    incorporate_child_on_success,
    is_account_alive,
    process_create_message,
    process_message,
)
from zkos_tw.execution.message import MAX_INIT_CODE_SIZE, MAX_STACK_DEPTH, Message, to_address

MAX_NONCE = 2**64 - 1


def generic_create(evm, endowment: int, contract_address: bytes, memory_start: int, size: int):
    """Run initcode from memory as a child create frame; push the new address or 0."""
    call_data = bytes(evm.memory[memory_start : memory_start + size])
    if evm.block_env.fork.initcode_limit and len(call_data) > MAX_INIT_CODE_SIZE:
        raise OutOfGas
    evm.accessed_addresses.add(contract_address)
    create_message_gas = max_message_call_gas(evm.gas_left)
    evm.gas_left -= create_message_gas
    if evm.message.is_static:
        raise WriteInStaticContext
    evm.return_data = b""

    state = evm.state
    sender = evm.message.current_target
    if (
        state.get_balance(sender) < endowment
        or state.get_nonce(sender) == MAX_NONCE
        or evm.message.depth + 1 > MAX_STACK_DEPTH
    ):
        evm.gas_left += create_message_gas
        evm.stack.append(0)
        return
    if (
        state.get_nonce(contract_address) != 0
        or state.get_code(contract_address)
        or state.account_has_storage(contract_address)
    ):
        state.set_nonce(sender, state.get_nonce(sender) + 1)
        evm.stack.append(0)
        return
    state.set_nonce(sender, state.get_nonce(sender) + 1)

    child_message = Message(
        caller=sender,
        target=None,
        current_target=contract_address,
        code_address=None,
        code=call_data,
        data=b"",
        value=endowment,
        gas=create_message_gas,
        depth=evm.message.depth + 1,
        should_transfer_value=True,
        is_static=False,
        accessed_addresses=evm.accessed_addresses.copy(),
        accessed_storage_keys=evm.accessed_storage_keys.copy(),
    )
    child = process_create_message(child_message, evm.block_env, evm.tx_env)
    if child.error is not None:
        incorporate_child_on_error(evm, child)
        evm.return_data = child.output
        evm.stack.append(0)
    else:
        incorporate_child_on_success(evm, child)
        evm.return_data = b""
        evm.stack.append(int.from_bytes(contract_address, "big"))


def create(evm) -> None:
    """CREATE: new contract at keccak(rlp([sender, nonce]))[12:]."""
    stack = evm.stack
    endowment = stack.pop()
    memory_start = stack.pop()
    size = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, memory_start, size)
    initcode_gas = init_code_cost(size) if evm.block_env.fork.initcode_limit else 0
    charge_gas(evm, GAS_CREATE + memory_gas + initcode_gas)
    if grow:
        evm.memory += bytes(grow)
    sender = evm.message.current_target
    contract_address = create_address(sender, evm.state.get_nonce(sender))
    generic_create(evm, endowment, contract_address, memory_start, size)
    evm.pc += 1


def create2(evm) -> None:
    """CREATE2 (EIP-1014): new contract at keccak(0xff ++ sender ++ salt ++ keccak(code))[12:]."""
    stack = evm.stack
    endowment = stack.pop()
    memory_start = stack.pop()
    size = stack.pop()
    salt = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, memory_start, size)
    call_data_words = (size + 31) >> 5
    initcode_gas = init_code_cost(size) if evm.block_env.fork.initcode_limit else 0
    charge_gas(evm, GAS_CREATE + GAS_KECCAK256_WORD * call_data_words + memory_gas + initcode_gas)
    if grow:
        evm.memory += bytes(grow)
    contract_address = create2_address(
        evm.message.current_target, salt, bytes(evm.memory[memory_start : memory_start + size])
    )
    generic_create(evm, endowment, contract_address, memory_start, size)
    evm.pc += 1


def generic_call(
    evm,
    gas: int,
    value: int,
    caller: bytes,
    to: bytes,
    code_address: bytes,
    should_transfer_value: bool,
    is_static: bool,
    input_start: int,
    input_size: int,
    output_start: int,
    output_size: int,
) -> None:
    """Run a child call frame and copy its output to memory; push 1 on success, else 0."""
    evm.return_data = b""
    if evm.message.depth + 1 > MAX_STACK_DEPTH:
        evm.gas_left += gas
        evm.stack.append(0)
        return
    call_data = bytes(evm.memory[input_start : input_start + input_size])
    child_message = Message(
        caller=caller,
        target=to,
        current_target=to,
        code_address=code_address,
        code=evm.state.get_code(code_address),
        data=call_data,
        value=value,
        gas=gas,
        depth=evm.message.depth + 1,
        should_transfer_value=should_transfer_value,
        is_static=is_static or evm.message.is_static,
        accessed_addresses=evm.accessed_addresses.copy(),
        accessed_storage_keys=evm.accessed_storage_keys.copy(),
    )
    child = process_message(child_message, evm.block_env, evm.tx_env)
    if child.error is not None:
        incorporate_child_on_error(evm, child)
        evm.stack.append(0)
    else:
        incorporate_child_on_success(evm, child)
        evm.stack.append(1)
    evm.return_data = child.output
    copied = min(output_size, len(child.output))
    if copied:
        evm.memory[output_start : output_start + copied] = child.output[:copied]


def call(evm) -> None:
    """CALL: message call with value transfer to another account."""
    stack = evm.stack
    gas = stack.pop()
    to = to_address(stack.pop())
    value = stack.pop()
    input_start = stack.pop()
    input_size = stack.pop()
    output_start = stack.pop()
    output_size = stack.pop()

    memory_gas, grow = memory_extension_many(
        evm.memory, ((input_start, input_size), (output_start, output_size))
    )
    access_gas = access_account(evm, to)
    state = evm.state
    create_gas = 0 if value == 0 or is_account_alive(state, to) else GAS_NEW_ACCOUNT
    transfer_gas = 0 if value == 0 else GAS_CALL_VALUE
    cost, child_gas = message_call_gas(
        value, gas, evm.gas_left, memory_gas, access_gas + create_gas + transfer_gas
    )
    charge_gas(evm, cost + memory_gas)
    if evm.message.is_static and value != 0:
        raise WriteInStaticContext
    if grow:
        evm.memory += bytes(grow)
    sender = evm.message.current_target
    if state.get_balance(sender) < value:
        evm.stack.append(0)
        evm.return_data = b""
        evm.gas_left += child_gas
    else:
        generic_call(
            evm, child_gas, value, sender, to, to, True, False,
            input_start, input_size, output_start, output_size,
        )  # fmt: skip
    evm.pc += 1


def callcode(evm) -> None:
    """CALLCODE: run another account's code in this account's context, with value."""
    stack = evm.stack
    gas = stack.pop()
    code_address = to_address(stack.pop())
    value = stack.pop()
    input_start = stack.pop()
    input_size = stack.pop()
    output_start = stack.pop()
    output_size = stack.pop()

    memory_gas, grow = memory_extension_many(
        evm.memory, ((input_start, input_size), (output_start, output_size))
    )
    access_gas = access_account(evm, code_address)
    transfer_gas = 0 if value == 0 else GAS_CALL_VALUE
    cost, child_gas = message_call_gas(
        value, gas, evm.gas_left, memory_gas, access_gas + transfer_gas
    )
    charge_gas(evm, cost + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    sender = evm.message.current_target
    if evm.state.get_balance(sender) < value:
        evm.stack.append(0)
        evm.return_data = b""
        evm.gas_left += child_gas
    else:
        generic_call(
            evm, child_gas, value, sender, sender, code_address, True, False,
            input_start, input_size, output_start, output_size,
        )  # fmt: skip
    evm.pc += 1


def delegatecall(evm) -> None:
    """DELEGATECALL (EIP-7): run another account's code with this frame's caller and value."""
    stack = evm.stack
    gas = stack.pop()
    code_address = to_address(stack.pop())
    input_start = stack.pop()
    input_size = stack.pop()
    output_start = stack.pop()
    output_size = stack.pop()

    memory_gas, grow = memory_extension_many(
        evm.memory, ((input_start, input_size), (output_start, output_size))
    )
    access_gas = access_account(evm, code_address)
    cost, child_gas = message_call_gas(0, gas, evm.gas_left, memory_gas, access_gas)
    charge_gas(evm, cost + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    message = evm.message
    generic_call(
        evm, child_gas, message.value, message.caller, message.current_target, code_address,
        False, False, input_start, input_size, output_start, output_size,
    )  # fmt: skip
    evm.pc += 1


def staticcall(evm) -> None:
    """STATICCALL (EIP-214): call that may not change state."""
    stack = evm.stack
    gas = stack.pop()
    to = to_address(stack.pop())
    input_start = stack.pop()
    input_size = stack.pop()
    output_start = stack.pop()
    output_size = stack.pop()

    memory_gas, grow = memory_extension_many(
        evm.memory, ((input_start, input_size), (output_start, output_size))
    )
    access_gas = access_account(evm, to)
    cost, child_gas = message_call_gas(0, gas, evm.gas_left, memory_gas, access_gas)
    charge_gas(evm, cost + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    generic_call(
        evm, child_gas, 0, evm.message.current_target, to, to, True, True,
        input_start, input_size, output_start, output_size,
    )  # fmt: skip
    evm.pc += 1


def return_(evm) -> None:
    """RETURN: stop successfully with memory[start:start+size] as output."""
    stack = evm.stack
    start = stack.pop()
    size = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, start, size)
    charge_gas(evm, memory_gas)
    if grow:
        evm.memory += bytes(grow)
    evm.output = bytes(evm.memory[start : start + size])
    evm.running = False
    evm.pc += 1


def revert(evm) -> None:
    """REVERT (EIP-140): undo the frame, keep the gas left, return memory as output."""
    stack = evm.stack
    start = stack.pop()
    size = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, start, size)
    charge_gas(evm, memory_gas)
    if grow:
        evm.memory += bytes(grow)
    evm.output = bytes(evm.memory[start : start + size])
    raise Revert


def selfdestruct(evm) -> None:
    """SELFDESTRUCT: send the whole balance to a beneficiary; since EIP-6780 the account is
    deleted only when it was created in the same transaction."""
    beneficiary = to_address(evm.stack.pop())
    gas_cost = GAS_SELF_DESTRUCT
    if beneficiary not in evm.accessed_addresses:
        evm.accessed_addresses.add(beneficiary)
        gas_cost += 2600
    state = evm.state
    originator = evm.message.current_target
    originator_balance = state.get_balance(originator)
    if not is_account_alive(state, beneficiary) and originator_balance != 0:
        gas_cost += GAS_SELF_DESTRUCT_NEW_ACCOUNT
    charge_gas(evm, gas_cost)
    if evm.message.is_static:
        raise WriteInStaticContext

    if originator_balance:
        state.set_balance(originator, 0)
        state.set_balance(beneficiary, state.get_balance(beneficiary) + originator_balance)
    if (
        not evm.block_env.fork.selfdestruct_same_tx_only
        or originator in evm.tx_env.created_accounts
    ):
        # When the beneficiary is the originator itself, the ether is burnt.
        if state.get_balance(originator):
            state.set_balance(originator, 0)
        evm.accounts_to_delete.add(originator)
    evm.touched_accounts.add(beneficiary)
    evm.running = False
    evm.pc += 1
