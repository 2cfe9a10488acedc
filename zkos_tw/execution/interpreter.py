"""Message processing: run a call or a create frame against the journaled state.

``process_message_call`` is the entry point of a transaction's top-level message;
``process_message`` and ``process_create_message`` run one frame each (CALL-family and CREATE
instructions use them for child frames); ``execute_code`` is the pure instruction loop; ``process_message`` runs the loop chosen for the
block (``block_env.engine``, see ``engines.py``).
Every frame runs inside one state checkpoint: ``begin()`` before, ``commit()`` on success,
``rollback()`` on a revert or an exceptional halt.
"""

from __future__ import annotations

import rlp

from zkos_tw.execution.exceptions import (
    AddressCollision,
    ExceptionalHalt,
    InvalidContractPrefix,
    OutOfGas,
    PrecompileError,
    Revert,
    StackOverflow,
    StackUnderflow,
)
from zkos_tw.execution.gas import GAS_CODE_DEPOSIT
from zkos_tw.execution.message import MAX_CODE_SIZE, Frame, Message
from zkos_tw.execution.precompiles import PrecompileFailure
from zkos_tw.hashing import keccak256

STACK_LIMIT = 1024


class MessageCallOutput:
    """What the top-level message of a transaction leaves behind."""

    __slots__ = (
        "gas_left",
        "refund_counter",
        "logs",
        "accounts_to_delete",
        "touched_accounts",
        "error",
        "output",
    )

    def __init__(self, gas_left, refund_counter, logs, accounts_to_delete, touched, error, output):
        self.gas_left = gas_left
        self.refund_counter = refund_counter
        self.logs = logs
        self.accounts_to_delete = accounts_to_delete
        self.touched_accounts = touched
        self.error = error
        self.output = output


def is_account_alive(state, address: bytes) -> bool:
    """True if the account exists and is not empty (EIP-161)."""
    return state.account_exists(address) and not state.is_empty(address)


def create_address(sender: bytes, nonce: int) -> bytes:
    """Address of a contract made by CREATE or a create transaction."""
    return keccak256(rlp.encode([sender, nonce]))[12:]


def create2_address(sender: bytes, salt: int, init_code: bytes) -> bytes:
    """Address of a contract made by CREATE2 (EIP-1014)."""
    preimage = b"\xff" + sender + salt.to_bytes(32, "big") + keccak256(init_code)
    return keccak256(preimage)[12:]


def has_collision(state, address: bytes) -> bool:
    """A new contract may not land on an account with code, a nonce or storage (EIP-7610)."""
    return bool(
        state.get_nonce(address) or state.get_code(address) or state.account_has_storage(address)
    )


def process_message_call(message: Message, block_env, tx_env) -> MessageCallOutput:
    """Run the top-level message of a transaction (a call, or a create when target is None)."""
    state = block_env.state
    if message.target is None:
        if has_collision(state, message.current_target):
            return MessageCallOutput(0, 0, (), set(), set(), AddressCollision(), b"")
        evm = process_create_message(message, block_env, tx_env)
    else:
        evm = process_message(message, block_env, tx_env)
        evm.touched_accounts.add(message.target)
    if evm.error is not None:
        return MessageCallOutput(evm.gas_left, 0, (), set(), set(), evm.error, evm.output)
    return MessageCallOutput(
        evm.gas_left,
        evm.refund_counter,
        tuple(evm.logs),
        evm.accounts_to_delete,
        evm.touched_accounts,
        None,
        evm.output,
    )


def process_create_message(message: Message, block_env, tx_env) -> Frame:
    """Run initcode in a new account and install the returned code (EIP-170, EIP-3541)."""
    state = block_env.state
    state.begin()
    tx_env.created_accounts.add(message.current_target)
    state.set_nonce(message.current_target, 1)
    evm = process_message(message, block_env, tx_env)
    if evm.error is None:
        contract_code = evm.output
        try:
            if contract_code and contract_code[0] == 0xEF:
                raise InvalidContractPrefix
            deposit_gas = len(contract_code) * GAS_CODE_DEPOSIT
            if evm.gas_left < deposit_gas:
                raise OutOfGas
            evm.gas_left -= deposit_gas
            if len(contract_code) > MAX_CODE_SIZE:
                raise OutOfGas
        except ExceptionalHalt as error:
            state.rollback()
            evm.gas_left = 0
            evm.output = b""
            evm.error = error
        else:
            state.set_code(message.current_target, contract_code)
            state.commit()
    else:
        state.rollback()
    return evm


def process_message(message: Message, block_env, tx_env) -> Frame:
    """Run one call frame: transfer the value, then the code (or the precompile)."""
    state = block_env.state
    state.begin()
    value = message.value
    if message.should_transfer_value and value:
        caller = message.caller
        target = message.current_target
        state.set_balance(caller, state.get_balance(caller) - value)
        state.set_balance(target, state.get_balance(target) + value)
    evm = block_env.engine(message, block_env, tx_env)
    if evm.error is not None:
        state.rollback()
    else:
        state.commit()
    return evm


def execute_code(message: Message, block_env, tx_env) -> Frame:
    """The instruction loop of one frame; errors end up in ``frame.error``."""
    evm = Frame(message, block_env, tx_env)
    try:
        precompile = block_env.precompiles.get(message.code_address)
        if precompile is not None:
            run_precompile(evm, precompile)
            return evm
        table = block_env.opcodes
        code = evm.code
        stack = evm.stack
        try:
            while evm.running:
                table[code[evm.pc]](evm)
                if len(stack) > STACK_LIMIT:
                    raise StackOverflow
        except IndexError:
            raise StackUnderflow from None
    except ExceptionalHalt as error:
        evm.gas_left = 0
        evm.output = b""
        evm.error = error
    except Revert as error:
        evm.error = error
    return evm


def run_precompile(evm: Frame, precompile) -> None:
    """Call a precompiled contract: ``fn(data, gas) -> (gas_used, output)``."""
    try:
        gas_used, output = precompile(evm.message.data, evm.gas_left)
    except PrecompileFailure as failure:
        raise PrecompileError(str(failure)) from None
    if gas_used > evm.gas_left:
        raise OutOfGas
    evm.gas_left -= gas_used
    evm.output = bytes(output)


def incorporate_child_on_success(evm: Frame, child: Frame) -> None:
    """Fold a successful child frame into its parent."""
    evm.gas_left += child.gas_left
    evm.logs.extend(child.logs)
    evm.refund_counter += child.refund_counter
    evm.accounts_to_delete.update(child.accounts_to_delete)
    evm.touched_accounts.update(child.touched_accounts)
    evm.touched_accounts.add(child.message.current_target)
    evm.accessed_addresses.update(child.accessed_addresses)
    evm.accessed_storage_keys.update(child.accessed_storage_keys)


def incorporate_child_on_error(evm: Frame, child: Frame) -> None:
    """A failed child only gives back the gas it did not use (none after a halt)."""
    evm.gas_left += child.gas_left
