"""Block dumps: a replayed block that diverged, written as JSON for a post-mortem.

``{block_dump_path}/dump_{block}_{unix_secs}.json`` (reference §14.3) holds the block number,
the first differing field, the error text and the whole record (context, transactions as hex,
``previous_block_timestamp``, ``node_version``, ``block_output_hash``).
"""

from __future__ import annotations

import json
import os

from zkos_tw.sequencer.wal import ReplayRecord

DUMP_FORMAT_VERSION = 1


def record_as_json(record: ReplayRecord) -> dict:
    """The record with bytes as 0x-hex, ready for ``json.dumps``."""
    c = record.context
    return {
        "context": {
            "chain_id": c.chain_id,
            "block_number": c.number,
            "block_hashes": ["0x" + h.hex() for h in c.block_hashes],
            "timestamp": c.timestamp,
            "eip1559_basefee": c.base_fee,
            "pubdata_price": c.pubdata_price,
            "native_price": c.native_price,
            "coinbase": "0x" + c.coinbase.hex(),
            "gas_limit": c.gas_limit,
            "pubdata_limit": c.pubdata_limit,
            "mix_hash": "0x" + c.mix_hash.hex(),
            "execution_version": c.execution_version,
        },
        "starting_l1_priority_id": record.starting_l1_priority_id,
        "transactions": ["0x" + tx.hex() for tx in record.transactions],
        "previous_block_timestamp": record.previous_block_timestamp,
        "node_version": record.node_version,
        "block_output_hash": "0x" + record.block_output_hash.hex(),
    }


def write_block_dump(
    directory: str, record: ReplayRecord, field: str, error: str, now: float
) -> str:
    """Write the dump of ``record`` (atomically: temporary file, then rename); its path."""
    os.makedirs(directory, exist_ok=True)
    number = record.context.number
    path = os.path.join(directory, f"dump_{number}_{int(now)}.json")
    document = {
        "version": DUMP_FORMAT_VERSION,
        "block": number,
        "field": field,
        "error": error,
        "record": record_as_json(record),
    }
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    os.replace(temporary, path)
    return path
