"""Run one transaction of a block under a tracer.

``trace_transaction(block_env, tx, sender, tracer, ...)`` applies an L2 transaction (or, with
``l1=True``, an L1 priority / upgrade transaction) to ``block_env.state`` exactly as the block
did, with ``tracer`` attached for that transaction only, and returns the receipt. The general
path of ``apply_transaction`` runs (``_fast=False``): a plain transfer has a top frame too.
"""

from __future__ import annotations

from zkos_tw.execution.interpreter import create_address
from zkos_tw.execution.l1_transactions import apply_l1_transaction
from zkos_tw.execution.processing import apply_transaction
from zkos_tw.tracing import hooks


def trace_transaction(
    block_env,
    tx,
    sender,
    tracer,
    *,
    cumulative_gas_used=0,
    l1=False,
    tx_number_in_block=0,
    first_log_index=0,
):
    """Apply ``tx`` with ``tracer`` attached; return its receipt (an ``L1Receipt`` for L1).
    ``first_log_index``: how many logs the block's earlier transactions emitted."""
    attached = hooks.attach(block_env, tracer)
    try:
        state = block_env.state
        to = tx.to
        if to is None:
            to = create_address(sender, state.get_nonce(sender))
        tracer.on_tx_context(state, sender, to, block_env.coinbase, tx.to is None)
        tracer.on_tx_start(tx.gas, first_log_index)
        if l1:
            outcome = apply_l1_transaction(
                block_env, tx, cumulative_gas_used, tx_number_in_block=tx_number_in_block
            )
            tracer.on_tx_end(outcome.receipt.gas_used)
        else:
            outcome = apply_transaction(block_env, tx, sender, cumulative_gas_used, _fast=False)
            tracer.on_tx_end(outcome.gas_used)
    finally:
        hooks.detach(block_env, attached)
    return outcome


def apply_untraced(block_env, tx, sender, *, cumulative_gas_used=0, l1=False, tx_number_in_block=0):
    """Apply ``tx`` as the block did, without a tracer; return its receipt."""
    if l1:
        outcome = apply_l1_transaction(
            block_env, tx, cumulative_gas_used, tx_number_in_block=tx_number_in_block
        )
        return outcome.receipt
    return apply_transaction(block_env, tx, sender, cumulative_gas_used)


def traced_message_call(block_env, message, tx_env, tracer, gas_limit: int):
    """``process_message_call`` with ``tracer`` attached (``debug_traceCall``); the top frame's
    ``gasUsed`` is after the refund, as a receipt's."""
    from zkos_tw.execution.gas import MAX_REFUND_QUOTIENT
    from zkos_tw.execution.interpreter import process_message_call

    attached = hooks.attach(block_env, tracer)
    try:
        tracer.on_tx_context(
            block_env.state,
            message.caller,
            message.current_target,
            block_env.coinbase,
            message.target is None,
        )
        tracer.on_tx_start(gas_limit)
        output = process_message_call(message, block_env, tx_env)
        used = gas_limit - output.gas_left
        tracer.on_tx_end(used - min(used // MAX_REFUND_QUOTIENT, output.refund_counter))
    finally:
        hooks.detach(block_env, attached)
    return output
