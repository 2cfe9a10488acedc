"""L1 transactions: the priority tx (type 0x7f) and the protocol upgrade tx (type 0x7e).

Both arrive from L1 as an ABI ``L2CanonicalTransaction`` (reference ``zksync-os-server.md`` §7.3,
§7.6). This module holds

* ``L1Transaction``: the decoded transaction; ``hash`` is ``keccak256(abi.encode(tx))``, the
  ``txHash`` of the L1 event;
* ``L1Transaction.from_canonical`` / ``canonical_tuple``: the ABI struct with the §7.3 checks
  (``L1TransactionError`` names the broken rule);
* the storage / WAL envelope (``encode_envelope`` / ``decode_envelope``), envelope version 1 =
  the reference's EIP-2718 form (§4.4): ``type || rlp([hash, initiator, to, gas_limit,
  gas_per_pubdata_byte_limit, max_fee_per_gas, max_priority_fee_per_gas, nonce, value, to_mint,
  refund_recipient, input, factory_deps, 0, 0, 0])``; the type byte and the 16-item list are the
  version: a decoder meeting anything else raises ``L1TransactionError``;
* ``apply_l1_transaction``: execution as ``zksync-os-state.md`` §9 — no signature, no nonce, no
  rejection; ``value`` is minted to the sender and the call runs ``from -> to`` in one revertible
  frame; ``gas_used * max_fee_per_gas`` is minted to 0x8001 and the rest of ``to_mint`` to the
  refund recipient; the receipt carries the L2->L1 log (sender 0x8001, key = tx hash, value =
  success).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import rlp
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError

from zkos_tw.execution.gas import (
    MAX_REFUND_QUOTIENT,
    TX_BASE_COST,
    TX_DATA_COST_PER_NON_ZERO,
    TX_DATA_COST_PER_ZERO,
)
from zkos_tw.execution.interpreter import process_message_call
from zkos_tw.execution.message import Message, TransactionEnvironment
from zkos_tw.execution.receipts import Receipt, logs_bloom
from zkos_tw.hashing import keccak256

PRIORITY_TX_TYPE = 0x7F
UPGRADE_TX_TYPE = 0x7E
L1_TX_TYPES = (PRIORITY_TX_TYPE, UPGRADE_TX_TYPE)

#: The ABI type of ``L2CanonicalTransaction`` (16 fields).
L2_CANONICAL_TRANSACTION_ABI = (
    "(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,"
    "uint256[4],bytes,bytes,uint256[],bytes,bytes)"
)
#: Gas per pubdata byte that deposits built by tools must carry (reference §7.3).
REQUIRED_L1_TO_L2_GAS_PER_PUBDATA_BYTE = 800
#: The smallest L2 gas limit the L1 contracts accept for a priority tx (reference §7.3).
L1_TX_MINIMAL_GAS_LIMIT = 200_000
#: The address fees are minted to and the sender of the L1-tx L2->L1 log (state.md §9).
BOOTLOADER_FORMAL_ADDRESS = (0x8001).to_bytes(20, "big")

ENVELOPE_ITEM_COUNT = 16
_ADDRESS_MASK = (1 << 160) - 1


class L1TransactionError(ValueError):
    """An L1 transaction that breaks a rule of §7.3, or envelope bytes that do not decode."""


def _address(word: int) -> bytes:
    return (word & _ADDRESS_MASK).to_bytes(20, "big")


def _word(address: bytes) -> int:
    return int.from_bytes(address, "big")


@dataclass(frozen=True)
class L1Transaction:
    """A priority (0x7f) or upgrade (0x7e) transaction, as the sequencer includes it.

    Attribute names follow ``zkos_tw.execution.transactions.Transaction`` where they mean the
    same (``gas``, ``to``, ``value``, ``data``, ``nonce``, the fee fields), so code that reads
    those works on both. ``nonce`` is the priority id (0x7f) or the protocol version (0x7e).
    """

    tx_type: int
    initiator: bytes
    to: bytes
    gas: int
    gas_per_pubdata_byte_limit: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    nonce: int
    value: int
    to_mint: int
    refund_recipient: bytes
    data: bytes
    factory_deps: tuple[bytes, ...]
    hash: bytes

    @property
    def sender(self) -> bytes:
        """The L2 sender: the L1 initiator (no signature)."""
        return self.initiator

    @property
    def priority_id(self) -> int:
        """The priority id of a 0x7f transaction (same as ``nonce``)."""
        return self.nonce

    @property
    def raw(self) -> bytes:
        """The storage / WAL envelope (version 1)."""
        return encode_envelope(self)

    def canonical_tuple(self) -> tuple:
        """The ``L2CanonicalTransaction`` this transaction maps back to (with the §7.3 zeros)."""
        return (
            self.tx_type,
            _word(self.initiator),
            _word(self.to),
            self.gas,
            self.gas_per_pubdata_byte_limit,
            self.max_fee_per_gas,
            self.max_priority_fee_per_gas,
            0,
            self.nonce,
            self.value,
            [self.to_mint, _word(self.refund_recipient), 0, 0],
            self.data,
            b"",
            [int.from_bytes(dep, "big") for dep in self.factory_deps],
            b"",
            b"",
        )

    @classmethod
    def from_canonical(cls, fields, expected_type: int = PRIORITY_TX_TYPE) -> L1Transaction:
        """Convert a decoded ``L2CanonicalTransaction`` (a 16-item sequence) with the §7.3
        checks; the hash is computed from ``fields`` exactly as given."""
        fields = tuple(fields)
        if len(fields) != 16:
            raise L1TransactionError(f"L2CanonicalTransaction has 16 fields, got {len(fields)}")
        (tx_type, from_, to, gas_limit, per_pubdata, max_fee, max_priority_fee, paymaster) = fields[
            :8
        ]
        nonce, value, reserved, data, signature, deps, paymaster_input, reserved_dynamic = fields[
            8:
        ]
        if tx_type != expected_type:
            raise L1TransactionError(
                f"invalid transaction type: {tx_type:#x}, expected {expected_type:#x}"
            )
        if max_priority_fee:
            raise L1TransactionError(f"non-zero priority fee: {max_priority_fee}")
        if paymaster:
            raise L1TransactionError(f"non-zero paymaster: {paymaster:#x}")
        reserved = tuple(reserved)
        if len(reserved) != 4:
            raise L1TransactionError(f"reserved has 4 words, got {len(reserved)}")
        for index in (2, 3):
            if reserved[index]:
                raise L1TransactionError(f"non-zero reserved field #{index}: {reserved[index]:#x}")
        for name, blob in (
            ("signature", signature),
            ("paymaster input", paymaster_input),
            ("reserved dynamic bytes", reserved_dynamic),
        ):
            if blob:
                raise L1TransactionError(f"non-empty {name}: 0x{bytes(blob).hex()}")
        tx_hash = keccak256(abi_encode([L2_CANONICAL_TRANSACTION_ABI], [fields]))
        return cls(
            tx_type=tx_type,
            initiator=_address(from_),
            to=_address(to),
            gas=gas_limit,
            gas_per_pubdata_byte_limit=per_pubdata,
            max_fee_per_gas=max_fee,
            max_priority_fee_per_gas=max_priority_fee,
            nonce=nonce,
            value=value,
            to_mint=reserved[0],
            refund_recipient=_address(reserved[1]),
            data=bytes(data),
            factory_deps=tuple(dep.to_bytes(32, "big") for dep in deps),
            hash=tx_hash,
        )


def decode_canonical(encoded: bytes, expected_type: int = PRIORITY_TX_TYPE) -> L1Transaction:
    """Decode ``abi.encode(L2CanonicalTransaction)`` bytes (with the leading 0x20 offset)."""
    try:
        (fields,) = abi_decode([L2_CANONICAL_TRANSACTION_ABI], encoded)
    except (DecodingError, ValueError, OverflowError) as e:
        raise L1TransactionError(f"malformed L2CanonicalTransaction: {e}") from None
    return L1Transaction.from_canonical(fields, expected_type)


def canonical_hash(fields) -> bytes:
    """``keccak256(abi.encode(tx))`` of an ``L2CanonicalTransaction`` sequence."""
    return keccak256(abi_encode([L2_CANONICAL_TRANSACTION_ABI], [tuple(fields)]))


def encode_envelope(tx: L1Transaction) -> bytes:
    """Envelope version 1: ``type || rlp(16 items)`` (reference §4.4)."""
    body = [
        tx.hash,
        tx.initiator,
        tx.to,
        tx.gas,
        tx.gas_per_pubdata_byte_limit,
        tx.max_fee_per_gas,
        tx.max_priority_fee_per_gas,
        tx.nonce,
        tx.value,
        tx.to_mint,
        tx.refund_recipient,
        tx.data,
        list(tx.factory_deps),
        0,
        0,
        0,
    ]
    return bytes([tx.tx_type]) + rlp.encode(body)


def _int(item, name: str, max_bytes: int = 32) -> int:
    if not isinstance(item, bytes) or len(item) > max_bytes or item[:1] == b"\x00":
        raise L1TransactionError(f"L1 envelope field {name} is not a canonical integer")
    return int.from_bytes(item, "big")


def _fixed(item, name: str, size: int) -> bytes:
    if not isinstance(item, bytes) or len(item) != size:
        raise L1TransactionError(f"L1 envelope field {name} is not {size} bytes")
    return item


def decode_envelope(raw: bytes) -> L1Transaction:
    """Decode an envelope written by ``encode_envelope``; the stored hash is trusted (§4.4)."""
    if not raw or raw[0] not in L1_TX_TYPES:
        kind = f"{raw[0]:#04x}" if raw else "empty"
        raise L1TransactionError(f"not an L1 transaction envelope (type {kind})")
    try:
        items = rlp.decode(raw[1:])
    except rlp.exceptions.DecodingError as e:
        raise L1TransactionError(f"malformed L1 envelope: {e}") from None
    if not isinstance(items, list) or len(items) != ENVELOPE_ITEM_COUNT:
        count = len(items) if isinstance(items, list) else "no"
        raise L1TransactionError(f"L1 envelope v1 has 16 items, got {count}")
    if any(items[i] != b"" for i in (13, 14, 15)):
        raise L1TransactionError("L1 envelope signature items must be empty")
    deps = items[12]
    if not isinstance(deps, list):
        raise L1TransactionError("L1 envelope field factory_deps is not a list")
    data = items[11]
    if not isinstance(data, bytes):
        raise L1TransactionError("L1 envelope field input is not a byte string")
    return L1Transaction(
        tx_type=raw[0],
        hash=_fixed(items[0], "hash", 32),
        initiator=_fixed(items[1], "initiator", 20),
        to=_fixed(items[2], "to", 20),
        gas=_int(items[3], "gas_limit", 8),
        gas_per_pubdata_byte_limit=_int(items[4], "gas_per_pubdata_byte_limit", 8),
        max_fee_per_gas=_int(items[5], "max_fee_per_gas", 16),
        max_priority_fee_per_gas=_int(items[6], "max_priority_fee_per_gas", 16),
        nonce=_int(items[7], "nonce", 8),
        value=_int(items[8], "value"),
        to_mint=_int(items[9], "to_mint"),
        refund_recipient=_fixed(items[10], "refund_recipient", 20),
        data=data,
        factory_deps=tuple(_fixed(dep, "factory dep", 32) for dep in deps),
    )


def is_l1_envelope(raw: bytes) -> bool:
    """True if ``raw`` starts with an L1 transaction type byte (0x7f or 0x7e)."""
    return bool(raw) and raw[0] in L1_TX_TYPES


class L2ToL1Log(NamedTuple):
    """One L2->L1 log (state.md §5.7)."""

    shard_id: int
    is_service: bool
    tx_number_in_block: int
    sender: bytes
    key: bytes
    value: bytes

    def encode(self) -> bytes:
        """The 88-byte form hashed into the logs tree."""
        return (
            bytes([self.shard_id, 1 if self.is_service else 0])
            + self.tx_number_in_block.to_bytes(2, "big")
            + self.sender
            + self.key
            + self.value
        )

    def record_entry(self) -> tuple:
        """The entry ``StoredReceipt.l2_to_l1_logs`` keeps: ``(shard_id, is_service,
        tx_number_in_block, sender, key, value)`` with integers for the first three."""
        return (
            self.shard_id,
            1 if self.is_service else 0,
            self.tx_number_in_block,
            self.sender,
            self.key,
            self.value,
        )


def l1_tx_log(tx_hash: bytes, succeeded: bool, tx_number_in_block: int) -> L2ToL1Log:
    """The L2->L1 log every L1 transaction leaves: sender 0x8001, key = hash, value = status."""
    value = (1 if succeeded else 0).to_bytes(32, "big")
    return L2ToL1Log(0, True, tx_number_in_block, BOOTLOADER_FORMAL_ADDRESS, tx_hash, value)


@dataclass(frozen=True)
class L1Receipt:
    """The outcome of an L1 transaction: the EVM receipt, the fee split and the L2->L1 log.
    ``effective_gas_price`` is ``max_fee_per_gas`` (reference §3.7)."""

    receipt: Receipt
    l2_to_l1_log: L2ToL1Log
    fee: int
    refund: int
    effective_gas_price: int

    @property
    def succeeded(self) -> bool:
        return self.receipt.succeeded

    @property
    def gas_used(self) -> int:
        return self.receipt.gas_used

    @property
    def cumulative_gas_used(self) -> int:
        return self.receipt.cumulative_gas_used


def l1_intrinsic_gas(tx: L1Transaction) -> int:
    """Gas charged before the call: 21,000 plus the Cancun calldata cost (our reading of the
    version-sensitive intrinsic cost of state.md §7.3, written down in docs/l1-node.md)."""
    zeros = tx.data.count(0)
    return (
        TX_BASE_COST
        + TX_DATA_COST_PER_ZERO * zeros
        + TX_DATA_COST_PER_NON_ZERO * (len(tx.data) - zeros)
    )


def _mint(state, address: bytes, amount: int) -> None:
    if amount:
        state.set_balance(address, state.get_balance(address) + amount)


def apply_l1_transaction(
    block_env, tx: L1Transaction, cumulative_gas_used: int = 0, tx_number_in_block: int = 0
) -> L1Receipt:
    """Execute an L1 transaction; it is never rejected and always gets a receipt.

    * ``to_mint < value + max_fee_per_gas * gas``, or ``gas`` below the intrinsic cost: the call
      does not run, the status is failure, no gas is charged and all of ``to_mint`` goes to the
      refund recipient (the L1 contracts never emit such a transaction).
    * Otherwise ``value`` is minted to the sender and the call ``sender -> to`` runs with
      ``value`` inside one checkpoint; a failed call rolls the mint back too. The fee
      ``gas_used * max_fee_per_gas`` is minted to 0x8001 and the rest of ``to_mint`` to the refund
      recipient. The sender's nonce does not change.
    """
    state = block_env.state
    gas_price = tx.max_fee_per_gas
    intrinsic = l1_intrinsic_gas(tx)
    state.begin_transaction()
    if tx.to_mint < tx.value + gas_price * tx.gas or tx.gas < intrinsic:
        if tx.gas < intrinsic:
            error = f"gas limit {tx.gas} below intrinsic gas {intrinsic}"
        else:
            error = f"to_mint {tx.to_mint} < value + max_fee_per_gas * gas_limit"
        _mint(state, tx.refund_recipient, tx.to_mint)
        state.end_transaction()
        receipt = Receipt(
            tx_type=tx.tx_type,
            succeeded=False,
            cumulative_gas_used=cumulative_gas_used,
            bloom=logs_bloom(()),
            logs=(),
            gas_used=0,
            contract_address=None,
            error=error,
        )
        log = l1_tx_log(tx.hash, False, tx_number_in_block)
        return L1Receipt(receipt, log, 0, tx.to_mint, gas_price)

    sender = tx.initiator
    accessed_addresses = set(block_env.precompile_addresses())
    if block_env.fork.warm_coinbase:
        accessed_addresses.add(block_env.coinbase)
    accessed_addresses.update((sender, tx.to))
    warm = frozenset(accessed_addresses)  # what the transaction reached is the rest
    state.begin()
    _mint(state, sender, tx.value)
    message = Message(
        caller=sender,
        target=tx.to,
        current_target=tx.to,
        code_address=tx.to,
        code=state.get_code(tx.to),
        data=tx.data,
        value=tx.value,
        gas=tx.gas - intrinsic,
        depth=0,
        should_transfer_value=True,
        is_static=False,
        accessed_addresses=accessed_addresses,
        accessed_storage_keys=set(),
    )
    output = process_message_call(message, block_env, TransactionEnvironment(sender, gas_price))
    succeeded = output.error is None
    if succeeded:
        state.commit()
    else:
        state.rollback()

    gas_used = tx.gas - output.gas_left
    gas_used -= min(gas_used // MAX_REFUND_QUOTIENT, output.refund_counter)
    fee = gas_used * gas_price
    refund = tx.to_mint - fee - (tx.value if succeeded else 0)
    _mint(state, BOOTLOADER_FORMAL_ADDRESS, fee)
    _mint(state, tx.refund_recipient, refund)
    for address in output.accounts_to_delete:
        state.destroy_account(address)
    for address in output.touched_accounts:
        if state.account_exists(address) and state.is_empty(address):
            state.destroy_account(address)
    state.end_transaction()

    receipt = Receipt(
        tx_type=tx.tx_type,
        succeeded=succeeded,
        cumulative_gas_used=cumulative_gas_used + gas_used,
        bloom=logs_bloom(output.logs),
        logs=output.logs,
        gas_used=gas_used,
        contract_address=None,
        error=None if succeeded else type(output.error).__name__,
        touched=output.touched_accounts | (accessed_addresses - warm),
    )
    log = l1_tx_log(tx.hash, succeeded, tx_number_in_block)
    return L1Receipt(receipt, log, fee, refund, gas_price)
