"""``ChainTip``: what the next block's context needs from the chain — the newest block's number,
hash and timestamp, and the hashes of the last 256 blocks (index 255 = the newest)."""

from __future__ import annotations

from dataclasses import dataclass

from zkos_tw.sequencer.blocks import BlockHeader

ZERO32 = bytes(32)


@dataclass(frozen=True)
class ChainTip:
    """The newest stored block, as the block context provider sees it."""

    number: int
    timestamp: int
    hashes: tuple[bytes, ...]  # 256 hashes, oldest first, the newest block's hash last

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
        return cls(last, header.timestamp, tuple(hashes))

    def advance(self, block) -> ChainTip:
        """The tip after ``block`` (a ``SealedBlock``) was stored."""
        return ChainTip(block.number, block.header.timestamp, self.hashes[1:] + (block.hash,))
