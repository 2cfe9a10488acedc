"""L2 blocks: the block context, the header and its hash, and the stored block record (v1).

Header and hash follow ZKsync OS (reference: zksync-os-state.md §5.1, zksync-os-server.md §10.6):
a London-layout header of 16 RLP fields with ``state_root``, ``receipts_root`` and ``logs_bloom``
zero, ``transactions_root`` the transaction rolling hash, and ``block_hash = keccak(rlp(header))``.

Rolling hash (the reference marks it version-sensitive; we take the "OS-later" rule, see
docs/sequencer.md): ``acc = 0``; for each included transaction hash ``h``: ``acc = h`` when
``acc`` is zero, else ``acc = keccak(acc || h)``.

Block record v1 (what ``repository`` stores per block): ``0x01 || rlp([header_fields(16),
logs_bloom])`` where ``logs_bloom`` is the real bloom of the block's receipts, which the RPC shows
but the hash does not commit to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import rlp

from zkos_tw import rlp_fast
from zkos_tw.hashing import keccak256

OMMERS_HASH_EMPTY = bytes.fromhex(
    "1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
)
BLOCK_RECORD_V1 = 1
ZERO32 = bytes(32)
DEFAULT_BASE_FEE = 1000
DEFAULT_PUBDATA_PRICE = 1
NATIVE_PRICE = 1
EXECUTION_VERSION = 3


class BlockFormatError(ValueError):
    """A stored block record cannot be decoded."""


def rolling_hash(tx_hashes) -> bytes:
    """The transactions root: the rolling hash of the included transactions' hashes."""
    acc = ZERO32
    for tx_hash in tx_hashes:
        acc = tx_hash if acc == ZERO32 else keccak256(acc + tx_hash)
    return acc


@dataclass(frozen=True)
class BlockContext:
    """What a block is executed with (the reference's ``BlockContext``, §4.2)."""

    chain_id: int
    number: int
    # index 255 = hash of block number-1, index 0 = block number-256; zeros before genesis
    block_hashes: tuple[bytes, ...]
    timestamp: int
    base_fee: int = DEFAULT_BASE_FEE
    pubdata_price: int = DEFAULT_PUBDATA_PRICE
    native_price: int = NATIVE_PRICE
    coinbase: bytes = bytes(20)
    gas_limit: int = 100_000_000
    pubdata_limit: int = 110_000
    mix_hash: bytes = ZERO32
    execution_version: int = EXECUTION_VERSION

    def __post_init__(self) -> None:
        if len(self.block_hashes) != 256:
            raise ValueError("a block context needs exactly 256 previous block hashes")

    @property
    def parent_hash(self) -> bytes:
        return self.block_hashes[255]

    def block_hash(self, number: int) -> bytes:
        """BLOCKHASH: the hash of one of the 256 previous blocks, else zero."""
        distance = self.number - number
        if not 1 <= distance <= 256:
            return ZERO32
        return self.block_hashes[256 - distance]

    def next_hashes(self, own_hash: bytes) -> tuple[bytes, ...]:
        """The ``block_hashes`` of the next block, once this one has the hash ``own_hash``."""
        return self.block_hashes[1:] + (own_hash,)


@dataclass(frozen=True)
class BlockHeader:
    """The 16 header fields that are hashed, plus the real logs bloom (not hashed)."""

    parent_hash: bytes
    coinbase: bytes
    transactions_root: bytes
    number: int
    gas_limit: int
    gas_used: int
    timestamp: int
    base_fee: int
    mix_hash: bytes = ZERO32
    logs_bloom: bytes = field(default=bytes(256))

    def hashed_fields(self) -> list:
        return [
            self.parent_hash,
            OMMERS_HASH_EMPTY,
            self.coinbase,
            ZERO32,  # state root
            self.transactions_root,
            ZERO32,  # receipts root
            bytes(256),  # logs bloom: not committed to by the hash
            0,  # difficulty
            self.number,
            self.gas_limit,
            self.gas_used,
            self.timestamp,
            b"",  # extra data
            self.mix_hash,
            bytes(8),  # nonce
            self.base_fee,
        ]

    def rlp(self) -> bytes:
        """RLP of the hashed header (what ``block_hash`` hashes)."""
        return rlp_fast.encode(self.hashed_fields())

    @property
    def hash(self) -> bytes:
        return keccak256(self.rlp())

    def encode(self) -> bytes:
        """The block record v1."""
        return bytes([BLOCK_RECORD_V1]) + rlp_fast.encode([self.hashed_fields(), self.logs_bloom])

    @classmethod
    def decode(cls, record: bytes) -> BlockHeader:
        """Decode a block record (v1)."""
        if not record or record[0] != BLOCK_RECORD_V1:
            version = record[0] if record else None
            raise BlockFormatError(f"unknown block record version {version}")
        try:
            fields, bloom = rlp.decode(record[1:])
            (
                parent,
                _ommers,
                coinbase,
                _sr,
                tx_root,
                _rr,
                _bloom,
                _diff,
                number,
                gas_limit,
                gas_used,
                timestamp,
                _extra,
                mix_hash,
                _nonce,
                base_fee,
            ) = fields
        except (rlp.exceptions.DecodingError, ValueError) as e:
            raise BlockFormatError(f"malformed block record: {e}") from None

        def integer(b: bytes) -> int:
            return int.from_bytes(b, "big")

        return cls(
            parent_hash=parent,
            coinbase=coinbase,
            transactions_root=tx_root,
            number=integer(number),
            gas_limit=integer(gas_limit),
            gas_used=integer(gas_used),
            timestamp=integer(timestamp),
            base_fee=integer(base_fee),
            mix_hash=mix_hash,
            logs_bloom=bloom,
        )


GENESIS_GAS_LIMIT = 5000
GENESIS_BASE_FEE = 1_000_000_000


def genesis_header() -> BlockHeader:
    """Block 0's header as the server builds it: all zero but gas limit 5000, base fee 1 gwei."""
    return BlockHeader(
        parent_hash=ZERO32,
        coinbase=bytes(20),
        transactions_root=ZERO32,
        number=0,
        gas_limit=GENESIS_GAS_LIMIT,
        gas_used=0,
        timestamp=0,
        base_fee=GENESIS_BASE_FEE,
    )
