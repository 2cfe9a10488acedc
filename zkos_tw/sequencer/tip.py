"""``ChainTip``: what the next block's context needs from the chain — the newest block's number,
hash and timestamp, the hashes of the last 256 blocks (index 255 = the newest), and the next L1
priority id (the first priority transaction no stored block holds; from the newest WAL record)."""

from __future__ import annotations

from dataclasses import dataclass

from zkos_tw.execution.l1_transactions import PRIORITY_TX_TYPE
from zkos_tw.sequencer.blocks import BlockHeader
from zkos_tw.sequencer.wal import ReplayRecord

ZERO32 = bytes(32)


@dataclass(frozen=True)
class ChainTip:
    """The newest stored block, as the block context provider sees it."""

    number: int
    timestamp: int
    hashes: tuple[bytes, ...]  # 256 hashes, oldest first, the newest block's hash last
    next_priority_id: int = 0

    @property
    def hash(self) -> bytes:
        return self.hashes[-1]

    @classmethod
    def load(cls, storage) -> ChainTip:
        """Read the tip from storage (the last block and up to 255 before it)."""
        last = storage.last_block()
        if last is None:
            raise ValueError("storage holds no block; write block 0 first")
        hashes = []
        for number in range(last - 255, last + 1):
            stored = storage.block(number) if number >= 0 else None
            hashes.append(stored.block_hash if stored is not None else ZERO32)
        header = BlockHeader.decode(storage.block(last).block_record)
        next_priority_id = 0
        wal = storage.wal_record(last) if last > 0 else None
        if wal is not None:
            record = ReplayRecord.decode(wal)
            included = sum(1 for raw in record.transactions if raw[:1] == bytes([PRIORITY_TX_TYPE]))
            next_priority_id = record.starting_l1_priority_id + included
        return cls(last, header.timestamp, tuple(hashes), next_priority_id)

    def advance(self, block) -> ChainTip:
        """The tip after ``block`` (a ``SealedBlock``) was stored."""
        included = sum(1 for t in block.transactions if t.tx.tx_type == PRIORITY_TX_TYPE)
        return ChainTip(
            block.number,
            block.header.timestamp,
            self.hashes[1:] + (block.hash,),
            self.next_priority_id + included,
        )
