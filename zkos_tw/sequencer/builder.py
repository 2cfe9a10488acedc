"""``BlockBuilder``: executes transactions one by one into a block, and seals it.

The builder knows the seal rules that depend on the block's content (the reference, §6.1): the
transaction count limit, and the gas rule — a transaction whose gas limit would push the used gas
over the block gas limit is not attempted and the block seals. The time rule (``block_time``
after the first executed transaction) is the sequencer's, which owns the clock.

A transaction that fails validation (``InvalidTransaction``) leaves the state untouched and is
reported back with its reason, so the sequencer can drop it from the pool.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkos_tw.execution.exceptions import InvalidTransaction
from zkos_tw.execution.l1_transactions import (
    PRIORITY_TX_TYPE,
    L1Transaction,
    apply_l1_transaction,
)
from zkos_tw.execution.message import BlockEnvironment
from zkos_tw.execution.processing import apply_transaction
from zkos_tw.execution.transactions import Transaction
from zkos_tw.hashing import keccak256
from zkos_tw.sequencer.blocks import BlockContext, BlockHeader, rolling_hash
from zkos_tw.sequencer.receipts import StoredReceipt, block_bloom


@dataclass(frozen=True)
class IncludedTransaction:
    """A transaction of the block: envelope bytes, decoded form, sender, hash, and the accounts
    its successful frames touched (``Receipt.touched``, for the address index)."""

    raw: bytes
    tx: Transaction | L1Transaction
    sender: bytes
    tx_hash: bytes
    touched: frozenset | set = frozenset()


@dataclass(frozen=True)
class SealedBlock:
    """A finished block: its context, header, transactions, receipts and state output."""

    context: BlockContext
    header: BlockHeader
    transactions: tuple[IncludedTransaction, ...]
    receipts: tuple[StoredReceipt, ...]
    state_output: object  # zkos_tw.state.view.BlockStateOutput
    seal_reason: str

    @property
    def number(self) -> int:
        return self.header.number

    @property
    def hash(self) -> bytes:
        return self.header.hash

    def output_hash(self) -> bytes:
        """The divergence check of the replay protocol (reference §4.5)."""
        parts = [self.hash]
        for receipt in self.receipts:
            parts.append(bytes([1 if receipt.succeeded else 0]))
            parts.append(receipt.gas_used.to_bytes(8, "big"))
        for write in self.state_output.storage_writes:
            parts.append(write.key + write.value)
        return keccak256(b"".join(parts))


class BlockFull(Exception):
    """The block cannot take this transaction: seal it and try the transaction in the next one."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def effective_gas_price(tx: Transaction, base_fee: int) -> int:
    """What the sender pays per gas: min(max fee, base fee + tip).

    For legacy and 0x01 transactions both fee fields are the gas price, so this is the gas price.
    """
    return min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)


class BlockBuilder:
    """Builds one block over a state view (an ``IExecutionState`` with ``finish_block()``)."""

    def __init__(self, context: BlockContext, state, *, max_transactions: int):
        self.context = context
        self._state = state
        self._max_transactions = max_transactions
        self._env = BlockEnvironment(
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
        self.transactions: list[IncludedTransaction] = []
        self.receipts: list[StoredReceipt] = []
        self.gas_used = 0

    @property
    def full(self) -> str | None:
        """The seal reason if no further transaction can be added, else ``None``."""
        if len(self.transactions) >= self._max_transactions:
            return "tx_count_limit"
        return None

    def add(self, raw: bytes, tx: Transaction, sender: bytes) -> StoredReceipt:
        """Execute ``tx``; raise ``BlockFull`` (not attempted) or ``InvalidTransaction``."""
        reason = self.full
        if reason:
            raise BlockFull(reason)
        if self.gas_used + tx.gas > self.context.gas_limit:
            raise BlockFull("gas_limit")
        receipt = apply_transaction(self._env, tx, sender, self.gas_used)
        stored = StoredReceipt(
            tx_type=tx.tx_type,
            succeeded=receipt.succeeded,
            cumulative_gas_used=receipt.cumulative_gas_used,
            gas_used=receipt.gas_used,
            effective_gas_price=effective_gas_price(tx, self.context.base_fee),
            sender=sender,
            to=tx.to,
            contract_address=receipt.contract_address,
            logs=tuple(receipt.logs),
        )
        self.gas_used = receipt.cumulative_gas_used
        self.transactions.append(IncludedTransaction(raw, tx, sender, tx.hash, receipt.touched))
        self.receipts.append(stored)
        return stored

    def add_l1(self, tx: L1Transaction) -> StoredReceipt:
        """Execute an L1 priority (0x7f) or upgrade (0x7e) transaction; never rejected.

        Only the block limits apply (``BlockFull``); the receipt carries the transaction's
        L2->L1 log and the effective gas price is its ``max_fee_per_gas`` (reference §3.7).
        """
        reason = self.full
        if reason:
            raise BlockFull(reason)
        if self.gas_used + tx.gas > self.context.gas_limit:
            raise BlockFull("gas_limit")
        outcome = apply_l1_transaction(
            self._env, tx, self.gas_used, tx_number_in_block=len(self.transactions)
        )
        stored = StoredReceipt(
            tx_type=tx.tx_type,
            succeeded=outcome.succeeded,
            cumulative_gas_used=outcome.cumulative_gas_used,
            gas_used=outcome.gas_used,
            effective_gas_price=outcome.effective_gas_price,
            sender=tx.initiator,
            to=tx.to,
            contract_address=None,
            logs=tuple(outcome.receipt.logs),
            l2_to_l1_logs=(outcome.l2_to_l1_log.record_entry(),),
        )
        self.gas_used = outcome.cumulative_gas_used
        self.transactions.append(
            IncludedTransaction(tx.raw, tx, tx.initiator, tx.hash, outcome.receipt.touched)
        )
        self.receipts.append(stored)
        return stored

    @property
    def l1_transactions(self) -> int:
        """How many priority (0x7f) transactions the block holds so far."""
        return sum(1 for t in self.transactions if t.tx.tx_type == PRIORITY_TX_TYPE)

    def seal(self, reason: str) -> SealedBlock:
        """Finish the block: the header over the included transactions, and the state output."""
        output = self._state.finish_block()
        header = BlockHeader(
            parent_hash=self.context.parent_hash,
            coinbase=self.context.coinbase,
            transactions_root=rolling_hash(t.tx_hash for t in self.transactions),
            number=self.context.number,
            gas_limit=self.context.gas_limit,
            gas_used=self.gas_used,
            timestamp=self.context.timestamp,
            base_fee=self.context.base_fee,
            mix_hash=self.context.mix_hash,
            logs_bloom=block_bloom(self.receipts),
        )
        return SealedBlock(
            self.context, header, tuple(self.transactions), tuple(self.receipts), output, reason
        )


__all__ = [
    "BlockBuilder",
    "BlockFull",
    "IncludedTransaction",
    "InvalidTransaction",
    "SealedBlock",
    "effective_gas_price",
]
