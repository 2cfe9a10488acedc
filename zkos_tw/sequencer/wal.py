"""The block replay WAL record (v1): everything needed to re-execute a block exactly.

This is the reference's ``ReplayRecord`` (§4.2) in our own versioned encoding:
``0x01 || rlp([context, starting_l1_priority_id, [raw transactions], previous_block_timestamp,
node_version, block_output_hash])`` with ``context = [chain_id, number, block_hashes (256 x 32
bytes, joined), timestamp, base_fee, pubdata_price, native_price, coinbase, gas_limit,
pubdata_limit, mix_hash, execution_version]``. External nodes receive these records (issue: the
replay stream) and re-execute them.
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp

from zkos_tw import rlp_fast
from zkos_tw.sequencer.blocks import BlockContext

WAL_RECORD_V1 = 1


class WalFormatError(ValueError):
    """A WAL record cannot be decoded."""


def _int(b: bytes) -> int:
    return int.from_bytes(b, "big")


@dataclass(frozen=True)
class ReplayRecord:
    """One block as the WAL keeps it."""

    context: BlockContext
    starting_l1_priority_id: int
    transactions: tuple[bytes, ...]
    previous_block_timestamp: int
    node_version: str
    block_output_hash: bytes

    def encode(self) -> bytes:
        c = self.context
        context = [
            c.chain_id,
            c.number,
            b"".join(c.block_hashes),
            c.timestamp,
            c.base_fee,
            c.pubdata_price,
            c.native_price,
            c.coinbase,
            c.gas_limit,
            c.pubdata_limit,
            c.mix_hash,
            c.execution_version,
        ]
        body = [
            context,
            self.starting_l1_priority_id,
            list(self.transactions),
            self.previous_block_timestamp,
            self.node_version.encode(),
            self.block_output_hash,
        ]
        return bytes([WAL_RECORD_V1]) + rlp_fast.encode(body)

    @classmethod
    def decode(cls, record: bytes) -> ReplayRecord:
        if not record or record[0] != WAL_RECORD_V1:
            version = record[0] if record else None
            raise WalFormatError(f"unknown WAL record version {version}")
        try:
            context, start_id, txs, previous, version, output_hash = rlp_fast.decode(record[1:])
            (
                chain_id,
                number,
                hashes,
                timestamp,
                base_fee,
                pubdata_price,
                native_price,
                coinbase,
                gas_limit,
                pubdata_limit,
                mix_hash,
                execution_version,
            ) = context
            if len(hashes) != 256 * 32:
                raise ValueError("block_hashes must be 256 hashes")
            block_context = BlockContext(
                chain_id=_int(chain_id),
                number=_int(number),
                block_hashes=tuple(hashes[i : i + 32] for i in range(0, len(hashes), 32)),
                timestamp=_int(timestamp),
                base_fee=_int(base_fee),
                pubdata_price=_int(pubdata_price),
                native_price=_int(native_price),
                coinbase=coinbase,
                gas_limit=_int(gas_limit),
                pubdata_limit=_int(pubdata_limit),
                mix_hash=mix_hash,
                execution_version=_int(execution_version),
            )
            return cls(
                block_context,
                _int(start_id),
                tuple(txs),
                _int(previous),
                version.decode(),
                output_hash,
            )
        except (rlp.exceptions.DecodingError, ValueError, UnicodeDecodeError) as e:
            raise WalFormatError(f"malformed WAL record: {e}") from None
