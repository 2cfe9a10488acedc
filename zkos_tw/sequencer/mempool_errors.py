"""Why the mempool refuses a transaction: one exception class per reason.

``str(error)`` is the exact text the reference node answers ``eth_sendRawTransaction`` with
(JSON-RPC code -32603): ``failed to decode signed transaction`` and ``invalid transaction
signature`` come before the pool sees the transaction; every other refusal is reth's ``PoolError``
display, ``"[0x<tx hash>]: <kind>"`` (reth v1.7 wording, reference §3.6).
"""

from __future__ import annotations


class PoolError(Exception):
    """Base class: the transaction was not added. ``str()`` is the RPC error message."""

    message = ""

    def __str__(self) -> str:
        return self.message


class TransactionDecodeError(PoolError):
    """The bytes are not a signed legacy, 0x01, 0x02, 0x03 or 0x04 envelope (0x7e/0x7f included)."""

    message = "failed to decode signed transaction"


class InvalidSignature(PoolError):
    """The signature does not recover a sender (r or s out of range, high s, not on the curve)."""

    message = "invalid transaction signature"


class TransactionRejected(PoolError):
    """A decoded, signed transaction the pool refused; ``tx_hash`` is its 32-byte hash."""

    kind = ""

    def __init__(self, tx_hash: bytes, *args) -> None:
        super().__init__(tx_hash, *args)
        self.tx_hash = tx_hash
        self.message = f"[0x{tx_hash.hex()}]: {self.describe(*args)}"

    def describe(self, *args) -> str:
        """The ``<kind>`` part of the message."""
        return self.kind


class AlreadyImported(TransactionRejected):
    """A transaction with the same hash is in the pool."""

    kind = "already imported"


class ReplacementUnderpriced(TransactionRejected):
    """Same sender and nonce as a pooled transaction, without the price bump (reth: > 10 %)."""

    kind = "insufficient gas price to replace existing transaction"


class FeeCapBelowMinimum(TransactionRejected):
    """``maxFeePerGas`` (or ``gasPrice``) below the protocol minimum base fee (reth: 7 wei)."""

    def describe(self, fee_cap: int) -> str:
        """``transaction feeCap <x> below chain minimum``."""
        return f"transaction feeCap {fee_cap} below chain minimum"


class DiscardedOnInsert(TransactionRejected):
    """The pool is full and the new transaction is the one that does not fit."""

    kind = "transaction discarded outright due to pool size constraints"


class NonceTooLow(TransactionRejected):
    """The nonce is below the sender's account nonce."""

    def describe(self, state: int, tx: int) -> str:
        """``transaction nonce is not consistent: next nonce <state>, tx nonce <tx>``."""
        return f"transaction nonce is not consistent: next nonce {state}, tx nonce {tx}"


class InsufficientFunds(TransactionRejected):
    """``maxFeePerGas * gasLimit + value`` exceeds the sender's balance."""

    def describe(self, balance: int, cost: int) -> str:
        """``sender does not have enough funds (<balance>) to cover transaction fees: <cost>``."""
        return f"sender does not have enough funds ({balance}) to cover transaction fees: {cost}"


class IntrinsicGasTooLow(TransactionRejected):
    """The gas limit does not cover the intrinsic gas (base, calldata, create, access list)."""

    kind = "intrinsic gas too low"


class ExceedsGasLimit(TransactionRejected):
    """The gas limit is above the block gas limit."""

    def describe(self, gas: int, limit: int) -> str:
        """``transaction's gas limit <g> exceeds block's gas limit <limit>``."""
        return f"transaction's gas limit {gas} exceeds block's gas limit {limit}"


class TipAboveFeeCap(TransactionRejected):
    """``maxPriorityFeePerGas`` above ``maxFeePerGas``."""

    kind = "max priority fee per gas higher than max fee per gas"


class ChainIdMismatch(TransactionRejected):
    """The transaction is signed for another chain (pre-EIP-155 legacy transactions have none)."""

    kind = "transaction's chain ID does not match"


class TxTypeNotSupported(TransactionRejected):
    """EIP-4844 (type 3) and EIP-7702 (type 4) transactions are not accepted."""

    kind = "transaction type not supported"


class OversizedData(TransactionRejected):
    """The encoded transaction is larger than ``tx_validator_max_input_bytes``."""

    def describe(self, size: int, limit: int) -> str:
        """``oversized data: transaction size <size>, limit <limit>``."""
        return f"oversized data: transaction size {size}, limit {limit}"


class ExceedsMaxInitCodeSize(TransactionRejected):
    """A contract creation whose init code is larger than 49,152 bytes (EIP-3860)."""

    def describe(self, size: int, limit: int) -> str:
        """``transaction's input size <size> exceeds max_init_code_size <limit>``."""
        return f"transaction's input size {size} exceeds max_init_code_size {limit}"
