"""Admission checks of the mempool that need no pool state: decoding, sender recovery, and the
stateless rules of reth's ``EthTransactionValidator`` in its order (reference §3.6).

``decode_pooled(raw, seq)`` turns ``eth_sendRawTransaction`` bytes into a ``PooledTransaction`` or
raises ``TransactionDecodeError`` / ``InvalidSignature``; ``check_stateless(ptx, ...)`` raises the
``TransactionRejected`` subclass of the first rule broken. Decoding and recovery are the EVM's
(``zkos_tw.execution.transactions``); type 4 (EIP-7702), which that module does not decode, is
decoded here just far enough to check its signature before it is refused as unsupported.
"""

from __future__ import annotations

import coincurve
import rlp

from zkos_tw.execution.exceptions import InvalidTransactionEncoding
from zkos_tw.execution.forks import CANCUN
from zkos_tw.execution.message import MAX_INIT_CODE_SIZE
from zkos_tw.execution.transactions import (
    BLOB,
    FEE_MARKET,
    SECP256K1N,
    decode_transaction,
    intrinsic_gas,
    recover_sender,
)
from zkos_tw.hashing import keccak256
from zkos_tw.sequencer import mempool_errors as errors

SET_CODE = 4
_U64 = 2**64
_U128 = 2**128


class PooledTransaction:
    """A signed transaction as the pool holds it.

    ``tx`` is the decoded ``zkos_tw.execution.transactions.Transaction``; ``raw`` its EIP-2718
    bytes; ``hash`` the 32-byte hash; ``sender`` the recovered 20-byte address. ``max_fee`` is
    ``maxFeePerGas`` (``gasPrice`` for legacy and 0x01), ``tip`` ``maxPriorityFeePerGas``
    (``gasPrice`` for legacy and 0x01), ``cost`` ``max_fee * gas + value``, ``size`` the length of
    ``raw``. ``seq`` orders transactions by arrival (ties in ordering go to the older one).
    ``pending`` is true while the transaction is executable (see ``Mempool``).
    """

    __slots__ = (
        "tx", "raw", "hash", "sender", "nonce", "gas", "max_fee", "tip", "dynamic", "cost",
        "size", "seq", "pending",
    )  # fmt: skip

    def __init__(self, tx, tx_hash: bytes, sender: bytes, seq: int) -> None:
        self.tx = tx
        self.raw = tx.raw
        self.hash = tx_hash
        self.sender = sender
        self.nonce = tx.nonce
        self.gas = tx.gas
        self.max_fee = tx.max_fee_per_gas
        self.tip = tx.max_priority_fee_per_gas
        self.dynamic = tx.tx_type == FEE_MARKET
        self.cost = tx.max_fee_per_gas * tx.gas + tx.value
        self.size = len(tx.raw)
        self.seq = seq
        self.pending = False

    def effective_tip(self, base_fee: int) -> int:
        """What the block's coinbase earns per gas at ``base_fee``: ``min(tip, max_fee - base_fee)``."""
        return min(self.tip, self.max_fee - base_fee)

    def __repr__(self) -> str:
        return (
            f"<PooledTransaction 0x{self.hash.hex()} from 0x{self.sender.hex()} "
            f"nonce {self.nonce}{' pending' if self.pending else ' queued'}>"
        )


def _check_set_code_signature(raw: bytes) -> None:
    """Decode an EIP-7702 envelope far enough to check its shape and signature."""
    try:
        fields = rlp.decode(raw[1:], strict=True)
    except rlp.exceptions.DecodingError:
        raise errors.TransactionDecodeError() from None
    if not isinstance(fields, list) or len(fields) != 13:
        raise errors.TransactionDecodeError()
    if any(not isinstance(item, bytes) for item in fields[-3:]):
        raise errors.TransactionDecodeError()
    y_parity, r, s = (int.from_bytes(item, "big") for item in fields[-3:])
    if y_parity > 1 or not 0 < r < SECP256K1N or not 0 < s <= SECP256K1N // 2:
        raise errors.InvalidSignature()
    signing_hash = keccak256(bytes([SET_CODE]) + rlp.encode(fields[:-3]))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([y_parity])
    try:
        coincurve.PublicKey.from_signature_and_message(signature, signing_hash, hasher=None)
    except Exception:  # coincurve raises plain Exception/ValueError
        raise errors.InvalidSignature() from None


def decode_pooled(raw: bytes, tx_hash: bytes, seq: int) -> PooledTransaction:
    """Decode and recover the sender of ``raw`` (whose hash is ``tx_hash``).

    Raises ``TransactionDecodeError``, ``InvalidSignature``, or ``TxTypeNotSupported`` for a
    well-formed, correctly signed EIP-7702 transaction.
    """
    if raw[:1] == bytes([SET_CODE]):
        _check_set_code_signature(raw)
        raise errors.TxTypeNotSupported(tx_hash)
    try:
        tx = decode_transaction(raw)
    except InvalidTransactionEncoding:
        raise errors.TransactionDecodeError() from None
    # Field widths of alloy's decoder: a wider value does not decode there.
    if tx.nonce >= _U64 or tx.gas >= _U64 or (tx.chain_id or 0) >= _U64:
        raise errors.TransactionDecodeError()
    if tx.max_fee_per_gas >= _U128 or tx.max_priority_fee_per_gas >= _U128:
        raise errors.TransactionDecodeError()
    try:
        sender = recover_sender(tx)
    except InvalidTransactionEncoding:
        raise errors.InvalidSignature() from None
    return PooledTransaction(tx, tx_hash, sender, seq)


def check_stateless(
    ptx: PooledTransaction,
    *,
    chain_id: int,
    block_gas_limit: int,
    max_input_bytes: int,
) -> None:
    """Raise the first rule of reth's stateless validation that ``ptx`` breaks, if any."""
    tx = ptx.tx
    if tx.tx_type == BLOB:
        raise errors.TxTypeNotSupported(ptx.hash)
    if ptx.size > max_input_bytes:
        raise errors.OversizedData(ptx.hash, ptx.size, max_input_bytes)
    if tx.to is None and len(tx.data) > MAX_INIT_CODE_SIZE:
        raise errors.ExceedsMaxInitCodeSize(ptx.hash, len(tx.data), MAX_INIT_CODE_SIZE)
    if tx.gas > block_gas_limit:
        raise errors.ExceedsGasLimit(ptx.hash, tx.gas, block_gas_limit)
    if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        raise errors.TipAboveFeeCap(ptx.hash)
    if tx.chain_id is not None and tx.chain_id != chain_id:
        raise errors.ChainIdMismatch(ptx.hash)
    if tx.gas < intrinsic_gas(tx, CANCUN):
        raise errors.IntrinsicGasTooLow(ptx.hash)
