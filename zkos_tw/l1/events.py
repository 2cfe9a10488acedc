"""The L1 events the node reads, their topic0s, and decoding into ``L1Transaction`` objects.

* ``NewPriorityRequest(uint256 txId, bytes32 txHash, uint64 expirationTimestamp,
  L2CanonicalTransaction transaction, bytes[] factoryDeps)`` — no indexed parameters (§7.3);
* ``GenesisUpgrade(address indexed _zkChain, L2CanonicalTransaction _l2Transaction,
  uint256 indexed _protocolVersion, bytes[] _factoryDeps)`` (§7.6);
* the batch events of §7.5 (topics only, for the commit / execute watchers).

A log that does not decode, or whose content breaks a §7.3 rule, raises ``L1EventError`` naming
the event, the L1 block and log index, and the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from zkos_tw.execution.l1_transactions import (
    L2_CANONICAL_TRANSACTION_ABI,
    PRIORITY_TX_TYPE,
    UPGRADE_TX_TYPE,
    L1Transaction,
    L1TransactionError,
)
from zkos_tw.hashing import blake2s256, keccak256

NEW_PRIORITY_REQUEST_SIGNATURE = (
    f"NewPriorityRequest(uint256,bytes32,uint64,{L2_CANONICAL_TRANSACTION_ABI},bytes[])"
)
GENESIS_UPGRADE_SIGNATURE = (
    f"GenesisUpgrade(address,{L2_CANONICAL_TRANSACTION_ABI},uint256,bytes[])"
)
NEW_PRIORITY_REQUEST_TOPIC = keccak256(NEW_PRIORITY_REQUEST_SIGNATURE.encode())
GENESIS_UPGRADE_TOPIC = keccak256(GENESIS_UPGRADE_SIGNATURE.encode())
BLOCK_COMMIT_TOPIC = keccak256(b"BlockCommit(uint256,bytes32,bytes32)")
BLOCK_EXECUTION_TOPIC = keccak256(b"BlockExecution(uint256,bytes32,bytes32)")
BLOCKS_VERIFICATION_TOPIC = keccak256(b"BlocksVerification(uint256,uint256)")

_PRIORITY_REQUEST_TYPES = ["uint256", "bytes32", "uint64", L2_CANONICAL_TRANSACTION_ABI, "bytes[]"]
_GENESIS_UPGRADE_TYPES = [L2_CANONICAL_TRANSACTION_ABI, "bytes[]"]


class L1EventError(ValueError):
    """An L1 log that cannot become an L1 transaction (the reference's ``L1EnvelopeError``)."""


@dataclass(frozen=True)
class PriorityRequest:
    """A decoded ``NewPriorityRequest``: the transaction and where it was seen on L1."""

    priority_id: int
    tx: L1Transaction
    expiration_timestamp: int
    factory_deps: tuple[bytes, ...]
    l1_block: int


@dataclass(frozen=True)
class GenesisUpgrade:
    """A decoded ``GenesisUpgrade``: the 0x7e tx, the protocol version and the factory dep
    preimages (to be stored keyed by ``blake2s(raw bytes)``, §7.6)."""

    tx: L1Transaction
    protocol_version: int
    factory_deps: tuple[bytes, ...]
    l1_block: int

    def preimages(self) -> list[tuple[bytes, bytes]]:
        """``(blake2s(raw), raw)`` of each factory dep, for the preimage store (§7.6: unpadded,
        no artifacts)."""
        return [(blake2s256(dep), dep) for dep in self.factory_deps]


def _where(log: dict) -> str:
    return f"at L1 block {log.get('blockNumber')} log index {log.get('logIndex')}"


def _log_bytes(log: dict, name: str) -> bytes:
    try:
        value = log["data"]
        if not isinstance(value, str) or not value.startswith("0x"):
            raise ValueError(value)
        return bytes.fromhex(value[2:])
    except (KeyError, ValueError):
        raise L1EventError(f"{name} {_where(log)}: data is not hex") from None


def _block(log: dict, name: str) -> int:
    try:
        return int(log["blockNumber"], 16)
    except (KeyError, TypeError, ValueError):
        raise L1EventError(f"{name} {_where(log)}: no block number") from None


def _topics(log: dict) -> list[bytes]:
    return [bytes.fromhex(t[2:]) for t in log.get("topics") or ()]


def decode_priority_request(log: dict) -> PriorityRequest:
    """Decode and validate one ``NewPriorityRequest`` log (an ``eth_getLogs`` object)."""
    name = "NewPriorityRequest"
    topics = _topics(log)
    if not topics or topics[0] != NEW_PRIORITY_REQUEST_TOPIC:
        raise L1EventError(f"{name} {_where(log)}: wrong topic0")
    try:
        tx_id, tx_hash, expiration, fields, deps = abi_decode(
            _PRIORITY_REQUEST_TYPES, _log_bytes(log, name)
        )
    except (DecodingError, ValueError, OverflowError) as e:
        raise L1EventError(f"{name} {_where(log)}: malformed event data: {e}") from None
    try:
        tx = L1Transaction.from_canonical(fields, PRIORITY_TX_TYPE)
    except L1TransactionError as e:
        raise L1EventError(f"{name} {_where(log)}: {e}") from None
    if tx.hash != tx_hash:
        raise L1EventError(
            f"{name} {_where(log)}: txHash 0x{tx_hash.hex()} is not keccak(abi.encode(tx)) "
            f"0x{tx.hash.hex()}"
        )
    if tx.nonce != tx_id:
        raise L1EventError(f"{name} {_where(log)}: txId {tx_id} differs from tx nonce {tx.nonce}")
    return PriorityRequest(tx_id, tx, expiration, tuple(bytes(d) for d in deps), _block(log, name))


def decode_genesis_upgrade(log: dict) -> GenesisUpgrade:
    """Decode and validate the ``GenesisUpgrade`` log (type 0x7e, nonce = protocol version)."""
    name = "GenesisUpgrade"
    topics = _topics(log)
    if len(topics) != 3 or topics[0] != GENESIS_UPGRADE_TOPIC:
        raise L1EventError(f"{name} {_where(log)}: wrong topics")
    protocol_version = int.from_bytes(topics[2], "big")
    try:
        fields, deps = abi_decode(_GENESIS_UPGRADE_TYPES, _log_bytes(log, name))
    except (DecodingError, ValueError, OverflowError) as e:
        raise L1EventError(f"{name} {_where(log)}: malformed event data: {e}") from None
    try:
        tx = L1Transaction.from_canonical(fields, UPGRADE_TX_TYPE)
    except L1TransactionError as e:
        raise L1EventError(f"{name} {_where(log)}: {e}") from None
    return GenesisUpgrade(tx, protocol_version, tuple(bytes(d) for d in deps), _block(log, name))
