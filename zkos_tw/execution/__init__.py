"""The Cancun EVM reference interpreter (pure Python), laid out like ethereum/execution-specs.

Entry points (see docs/execution.md):

* ``processing.apply_raw_transaction(block_env, raw, cumulative_gas_used)`` and
  ``processing.apply_transaction(block_env, tx, sender, cumulative_gas_used)`` run one
  transaction against ``block_env.state`` (an ``IExecutionState``) and return a ``Receipt``, or
  raise ``exceptions.InvalidTransaction`` without writing anything.
* ``interpreter.process_message_call(message, block_env, tx_env)`` runs one message (a call, or a
  create when ``message.target is None``); ``message.BlockEnvironment``,
  ``message.TransactionEnvironment`` and ``message.Message`` build its inputs.
* ``transactions.decode_transaction`` / ``recover_sender`` / ``validate_transaction`` /
  ``intrinsic_gas`` are usable on their own (mempool admission).
"""
