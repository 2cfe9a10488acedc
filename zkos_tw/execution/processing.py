"""Apply one transaction to the state: validate, buy gas, run the message, refund, pay the
coinbase, delete self-destructed and touched-empty accounts, and build the receipt.

An invalid transaction raises ``InvalidTransaction`` before anything is written.
"""

from __future__ import annotations

from zkos_tw.execution.gas import MAX_REFUND_QUOTIENT
from zkos_tw.execution.interpreter import (
    MessageCallOutput,
    create_address,
    process_message_call,
)
from zkos_tw.execution.message import Message, TransactionEnvironment
from zkos_tw.execution.receipts import Receipt, logs_bloom
from zkos_tw.execution.transactions import (
    Transaction,
    decode_transaction,
    intrinsic_gas,
    recover_sender,
    validate_transaction,
)


def apply_raw_transaction(block_env, raw: bytes, cumulative_gas_used: int = 0) -> Receipt:
    """Decode, recover the sender of and apply a transaction envelope."""
    tx = decode_transaction(raw)
    return apply_transaction(block_env, tx, recover_sender(tx), cumulative_gas_used)


def apply_transaction(
    block_env, tx: Transaction, sender: bytes, cumulative_gas_used: int = 0, *, _fast=True
) -> Receipt:
    """Run ``tx`` from ``sender`` against ``block_env.state`` and return its receipt.

    ``cumulative_gas_used`` is the gas used by the earlier transactions of the block: the
    transaction must fit in what is left of the block gas limit. ``_fast=False`` takes the
    general path for plain transfers too (for the tests that compare the two).
    """
    state = block_env.state
    fork = block_env.fork
    effective_gas_price, blob_gas_fee = validate_transaction(
        tx, sender, block_env, block_env.gas_limit - cumulative_gas_used
    )
    # An unexpected exception below leaves the transaction open: the caller discards the state.
    state.begin_transaction()
    nonce = state.get_nonce(sender)
    state.set_nonce(sender, nonce + 1)
    state.set_balance(
        sender, state.get_balance(sender) - tx.gas * effective_gas_price - blob_gas_fee
    )

    if _fast and tx.to is not None and tx.to not in block_env.precompiles:
        code = state.get_code(tx.to)
        if not code:
            output = _transfer_to_codeless(state, tx, sender, tx.gas - intrinsic_gas(tx, fork))
            return _finish(block_env, tx, sender, effective_gas_price, output, None,
                           cumulative_gas_used)  # fmt: skip

    accessed_addresses = set(block_env.precompile_addresses())
    accessed_storage_keys = set()
    if fork.warm_coinbase:
        accessed_addresses.add(block_env.coinbase)
    for address, keys in tx.access_list:
        accessed_addresses.add(address)
        for key in keys:
            accessed_storage_keys.add((address, key))

    tx_env = TransactionEnvironment(sender, effective_gas_price, tx.blob_versioned_hashes)
    if tx.to is None:
        contract_address = create_address(sender, nonce)
        current_target, code, data, code_address = contract_address, tx.data, b"", None
    else:
        contract_address = None
        current_target, code, data = tx.to, state.get_code(tx.to), tx.data
        code_address = tx.to
    accessed_addresses.add(current_target)
    accessed_addresses.add(sender)
    warm = frozenset(accessed_addresses)  # what the transaction reached is the rest
    message = Message(
        caller=sender,
        target=tx.to,
        current_target=current_target,
        code_address=code_address,
        code=code,
        data=data,
        value=tx.value,
        gas=tx.gas - intrinsic_gas(tx, fork),
        depth=0,
        should_transfer_value=True,
        is_static=False,
        accessed_addresses=accessed_addresses,
        accessed_storage_keys=accessed_storage_keys,
    )
    output = process_message_call(message, block_env, tx_env)
    return _finish(
        block_env, tx, sender, effective_gas_price, output, contract_address, cumulative_gas_used,
        reached=output.touched_accounts | (accessed_addresses - warm),
    )  # fmt: skip


def _transfer_to_codeless(state, tx, sender: bytes, gas: int) -> MessageCallOutput:
    """What ``process_message_call`` leaves for a call to an account without code that is no
    precompile (a plain transfer): the value moves, nothing runs, all the call's gas is left, and
    the target is touched. Same state and output, without building a message and a frame (about
    a fifth of a transfer's execution time; tests compare it with the general path)."""
    value = tx.value
    if value:
        state.set_balance(sender, state.get_balance(sender) - value)
        state.set_balance(tx.to, state.get_balance(tx.to) + value)
    return MessageCallOutput(gas, 0, (), set(), {tx.to}, None, b"")


def _finish(
    block_env,
    tx,
    sender,
    effective_gas_price,
    output,
    contract_address,
    cumulative_gas_used,
    reached=None,
) -> Receipt:
    """Refund, pay the coinbase, delete accounts, end the transaction, build the receipt.

    ``reached`` (``Receipt.touched``) defaults to the touched accounts (a plain transfer)."""  # fmt: skip
    state = block_env.state
    gas_used = tx.gas - output.gas_left
    gas_refund = min(gas_used // MAX_REFUND_QUOTIENT, output.refund_counter)
    state.set_balance(
        sender,
        state.get_balance(sender) + (output.gas_left + gas_refund) * effective_gas_price,
    )
    total_gas_used = gas_used - gas_refund
    priority_fee_per_gas = effective_gas_price - block_env.base_fee
    coinbase = block_env.coinbase
    coinbase_balance = state.get_balance(coinbase) + total_gas_used * priority_fee_per_gas
    if coinbase_balance:
        state.set_balance(coinbase, coinbase_balance)
    elif state.account_exists(coinbase) and state.is_empty(coinbase):
        state.destroy_account(coinbase)

    for address in output.accounts_to_delete:
        state.destroy_account(address)
    for address in output.touched_accounts:
        if state.account_exists(address) and state.is_empty(address):
            state.destroy_account(address)
    state.end_transaction()

    error = None if output.error is None else type(output.error).__name__
    return Receipt(
        tx_type=tx.tx_type,
        succeeded=output.error is None,
        cumulative_gas_used=cumulative_gas_used + total_gas_used,
        bloom=logs_bloom(output.logs),
        logs=output.logs,
        gas_used=total_gas_used,
        contract_address=contract_address if output.error is None else None,
        error=error,
        touched=output.touched_accounts if reached is None else reached,
    )
