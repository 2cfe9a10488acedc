"""Re-execute stored blocks to trace their transactions (worker-thread code, blocking).

A block's transactions run again on the stored state after its parent
(``storage.state_at(n - 1)``), in the block's own context (from its WAL record), in order; the
ones before the traced one run untraced. L2, L1 priority (0x7f) and upgrade (0x7e)
transactions all trace. Nothing is written: the state view is thrown away.
"""

from __future__ import annotations

from zkos_tw.execution.l1_transactions import decode_envelope, is_l1_envelope
from zkos_tw.execution.message import BlockEnvironment
from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.sequencer.wal import ReplayRecord
from zkos_tw.state.view import FlatState
from zkos_tw.tracing.errors import TraceError
from zkos_tw.tracing.run import apply_untraced, trace_transaction


class StoredBlock:
    """One stored block, ready to run again: its context and decoded transactions."""

    def __init__(self, storage, number: int):
        stored = storage.block(number)
        record = storage.wal_record(number) if number > 0 else None
        if stored is None or record is None:
            raise TraceError(f"block #{number} not found" if stored is None else
                             "genesis is not traceable")  # fmt: skip
        self.number = number
        self.hash = stored.block_hash
        self.tx_hashes = list(stored.tx_hashes)
        self.record = ReplayRecord.decode(record)
        self.transactions = [_decode(raw) for raw in self.record.transactions]
        self._storage = storage

    def environment(self) -> BlockEnvironment:
        """A block environment over a fresh view of the parent's state (as ``BlockBuilder``)."""
        context = self.record.context
        state = FlatState(self._storage.state_at(self.number - 1), self._storage.preimage_store())
        return BlockEnvironment(
            state,
            coinbase=context.coinbase,
            number=context.number,
            gas_limit=context.gas_limit,
            timestamp=context.timestamp,
            base_fee=context.base_fee,
            prev_randao=int.from_bytes(context.mix_hash, "big"),
            chain_id=context.chain_id,
            block_hashes=context.block_hash,
        )

    def trace(self, make_tracer, indexes=None) -> list:
        """Run the block up to its last traced transaction; ``make_tracer()`` gives a tracer for
        each transaction whose index is in ``indexes`` (None: all). Returns
        ``[(index, tx hash, tracer)]``."""
        env = self.environment()
        wanted = set(range(len(self.transactions))) if indexes is None else set(indexes)
        last = max(wanted, default=-1)
        traced = []
        gas_used = 0
        logs = 0
        for index, (tx, sender, l1) in enumerate(self.transactions[: last + 1]):
            options = dict(cumulative_gas_used=gas_used, l1=l1, tx_number_in_block=index)
            if index in wanted:
                tracer = make_tracer()
                outcome = trace_transaction(
                    env, tx, sender, tracer, first_log_index=logs, **options
                )
                traced.append((index, self.tx_hashes[index], tracer))
                receipt = outcome.receipt if l1 else outcome
            else:
                receipt = apply_untraced(env, tx, sender, **options)
            gas_used = receipt.cumulative_gas_used
            logs += len(receipt.logs)
        return traced


def _decode(raw: bytes):
    """``(tx, sender, is_l1)`` of a stored transaction envelope."""
    if is_l1_envelope(raw):
        tx = decode_envelope(raw)
        return tx, tx.initiator, True
    tx = decode_transaction(raw)
    return tx, recover_sender(tx), False
