"""JSON-RPC object shapes (reference §3.7) built from stored records: blocks, transactions,
receipts and logs, as camelCase dicts with hex strings."""

from __future__ import annotations

import rlp

from zkos_tw.execution.l1_transactions import (
    UPGRADE_TX_TYPE,
    L1Transaction,
    decode_envelope,
    is_l1_envelope,
)
from zkos_tw.execution.transactions import Transaction, decode_transaction
from zkos_tw.sequencer.blocks import BlockHeader
from zkos_tw.sequencer.receipts import StoredReceipt


def qty(value: int) -> str:
    """A JSON-RPC quantity: hex without leading zeros (``0x0`` for zero)."""
    return hex(value)


def data(value: bytes) -> str:
    """JSON-RPC data: ``0x`` and the bytes in hex."""
    return "0x" + value.hex()


def address(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


def block_object(block_hash: bytes, header: BlockHeader, tx_hashes, transactions=None) -> dict:
    """The RPC block: the header fields, ``size``, and transaction hashes or objects."""
    header_size = len(header.rlp())
    size = header_size + len(rlp.encode(list(tx_hashes)))
    return {
        "hash": data(block_hash),
        "parentHash": data(header.parent_hash),
        "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
        "miner": data(header.coinbase),
        "stateRoot": data(bytes(32)),
        "transactionsRoot": data(header.transactions_root),
        "receiptsRoot": data(bytes(32)),
        "logsBloom": data(header.logs_bloom),
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "number": qty(header.number),
        "gasLimit": qty(header.gas_limit),
        "gasUsed": qty(header.gas_used),
        "timestamp": qty(header.timestamp),
        "extraData": "0x",
        "mixHash": data(header.mix_hash),
        "nonce": "0x0000000000000000",
        "baseFeePerGas": qty(header.base_fee),
        "size": qty(size),
        "uncles": [],
        "transactions": (
            [data(h) for h in tx_hashes] if transactions is None else list(transactions)
        ),
    }


def header_object(block_hash: bytes, header: BlockHeader) -> dict:
    """The block object without ``transactions`` (``newHeads`` notifications)."""
    block = block_object(block_hash, header, ())
    del block["transactions"]
    return block


def transaction_object(
    tx: Transaction,
    sender: bytes,
    tx_hash: bytes,
    *,
    block_hash=None,
    block_number=None,
    index=None,
    base_fee: int | None = None,
) -> dict:
    """The RPC transaction (alloy's shape); block fields are null for a pending transaction."""
    if isinstance(tx, L1Transaction):
        return l1_transaction_object(
            tx, block_hash=block_hash, block_number=block_number, index=index
        )
    obj = {
        "hash": data(tx_hash),
        "type": qty(tx.tx_type),
        "nonce": qty(tx.nonce),
        "from": data(sender),
        "to": address(tx.to),
        "value": qty(tx.value),
        "gas": qty(tx.gas),
        "input": data(tx.data),
        "blockHash": None if block_hash is None else data(block_hash),
        "blockNumber": None if block_number is None else qty(block_number),
        "transactionIndex": None if index is None else qty(index),
        "v": qty(tx.v),
        "r": qty(tx.r),
        "s": qty(tx.s),
    }
    if tx.chain_id is not None:
        obj["chainId"] = qty(tx.chain_id)
    if tx.tx_type == 0:
        obj["gasPrice"] = qty(tx.gas_price)
    else:
        obj["yParity"] = qty(tx.v)
        obj["accessList"] = [
            {"address": data(a), "storageKeys": [data(k) for k in keys]}
            for a, keys in tx.access_list
        ]
        if tx.tx_type == 1:
            obj["gasPrice"] = qty(tx.gas_price)
        else:
            obj["maxFeePerGas"] = qty(tx.max_fee_per_gas)
            obj["maxPriorityFeePerGas"] = qty(tx.max_priority_fee_per_gas)
            if base_fee is not None:
                price = min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)
                obj["gasPrice"] = qty(price)
            else:
                obj["gasPrice"] = qty(tx.max_fee_per_gas)
    return obj


#: The ``nonce`` an L1 or upgrade transaction shows: ``Number.MAX_SAFE_INTEGER``, the largest
#: nonce ethers v6 parses, and one no account reaches (it would take 2**53 - 1 transactions).
#: The reference shows the priority id (or protocol version) there, which collides with the
#: initiator's own nonce sequence: ethers' and viem's ``wait`` match mined transactions on
#: (``from``, ``nonce``) and took block 1's deposit for a replacement (issue #18, docs/rpc.md).
L1_TRANSACTION_NONCE = 2**53 - 1


def l1_transaction_object(tx: L1Transaction, *, block_hash, block_number, index) -> dict:
    """An L1 (0x7f) or upgrade (0x7e) transaction, flattened as the reference shows it (§3.7).

    One change: the reference's ``nonce`` (the priority id of an L1 transaction, the protocol
    version of an upgrade) moves to its own field, ``priorityId`` or ``protocolVersion``, and
    ``nonce`` is :data:`L1_TRANSACTION_NONCE`, outside every account's nonce sequence.
    """
    own_field = "protocolVersion" if tx.tx_type == UPGRADE_TX_TYPE else "priorityId"
    return {
        "hash": data(tx.hash),
        "type": qty(tx.tx_type),
        "initiator": data(tx.initiator),
        "from": data(tx.initiator),
        "to": address(tx.to),
        "gas": qty(tx.gas),
        "gasPerPubdataByteLimit": qty(tx.gas_per_pubdata_byte_limit),
        "maxFeePerGas": qty(tx.max_fee_per_gas),
        "maxPriorityFeePerGas": qty(tx.max_priority_fee_per_gas),
        "gasPrice": qty(tx.max_fee_per_gas),
        "nonce": qty(L1_TRANSACTION_NONCE),
        own_field: qty(tx.nonce),
        "value": qty(tx.value),
        "toMint": qty(tx.to_mint),
        "refundRecipient": data(tx.refund_recipient),
        "input": data(tx.data),
        "factoryDeps": [data(dep) for dep in tx.factory_deps],
        "blockHash": None if block_hash is None else data(block_hash),
        "blockNumber": None if block_number is None else qty(block_number),
        "transactionIndex": None if index is None else qty(index),
        "v": "0x0",
        "r": data(bytes(32)),
        "s": data(bytes(32)),
        "yParity": "0x0",
    }


def stored_transaction(raw: bytes):
    """Decode a stored transaction: an L1 envelope or a signed L2 envelope."""
    if is_l1_envelope(raw):
        return decode_envelope(raw)
    return decode_transaction(raw)


def _as_int(value) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


def l2_to_l1_log_objects(receipt: StoredReceipt) -> list[dict]:
    """The receipt's L2->L1 logs with the reference's snake_case keys (§3.7)."""
    return [
        {
            "l2_shard_id": _as_int(shard),
            "is_service": bool(_as_int(service)),
            "tx_number_in_block": _as_int(number),
            "sender": data(sender),
            "key": data(key),
            "value": data(value),
        }
        for shard, service, number, sender, key, value in receipt.l2_to_l1_logs
    ]


def log_objects(
    receipt: StoredReceipt,
    *,
    block_hash: bytes,
    block_number: int,
    timestamp: int,
    tx_hash: bytes,
    tx_index: int,
    first_log_index: int,
) -> list[dict]:
    """The receipt's logs as RPC logs; ``logIndex`` is block-global."""
    return [
        {
            "address": data(log.address),
            "topics": [data(t) for t in log.topics],
            "data": data(log.data),
            "blockHash": data(block_hash),
            "blockNumber": qty(block_number),
            "blockTimestamp": qty(timestamp),
            "transactionHash": data(tx_hash),
            "transactionIndex": qty(tx_index),
            "logIndex": qty(first_log_index + i),
            "removed": False,
        }
        for i, log in enumerate(receipt.logs)
    ]


def receipt_object(
    receipt: StoredReceipt,
    *,
    tx_hash: bytes,
    tx_index: int,
    block_hash: bytes,
    block_number: int,
    timestamp: int,
    first_log_index: int,
) -> dict:
    """The RPC receipt (alloy's, plus ``l2ToL1Logs``)."""
    return {
        "type": qty(receipt.tx_type),
        "status": "0x1" if receipt.succeeded else "0x0",
        "cumulativeGasUsed": qty(receipt.cumulative_gas_used),
        "logs": log_objects(
            receipt,
            block_hash=block_hash,
            block_number=block_number,
            timestamp=timestamp,
            tx_hash=tx_hash,
            tx_index=tx_index,
            first_log_index=first_log_index,
        ),
        "logsBloom": data(receipt.bloom),
        "l2ToL1Logs": l2_to_l1_log_objects(receipt),
        "transactionHash": data(tx_hash),
        "transactionIndex": qty(tx_index),
        "blockHash": data(block_hash),
        "blockNumber": qty(block_number),
        "gasUsed": qty(receipt.gas_used),
        "effectiveGasPrice": qty(receipt.effective_gas_price),
        "from": data(receipt.sender),
        "to": address(receipt.to),
        "contractAddress": address(receipt.contract_address),
    }
