"""ReplayRecord wire codecs v1-v3 (reference §4.3): bincode 2 ``config::standard()`` layout.

Integers (u32/u64) are bincode varints: a value below 251 is one byte, else a marker byte 251,
252 or 253 followed by the value as u16, u32 or u64 little-endian. ``U256``/``B256`` go through
serde as byte strings (varint length 32, then 32 big-endian bytes), ``Address`` likewise with
length 20, and the node version as a varint-length UTF-8 string. v2 and v3 are byte-identical;
v1 lacks ``execution_version`` (decoded as 1). We always encode the current version, v3.
"""

from __future__ import annotations

import struct

from zkos_tw.sequencer.blocks import BlockContext
from zkos_tw.sequencer.wal import ReplayRecord

REPLAY_WIRE_V1 = 1
REPLAY_WIRE_V2 = 2
REPLAY_WIRE_V3 = 3
CURRENT_WIRE_VERSION = REPLAY_WIRE_V3
SUPPORTED_WIRE_VERSIONS = (REPLAY_WIRE_V1, REPLAY_WIRE_V2, REPLAY_WIRE_V3)

_U16_MARKER = 251
_U32_MARKER = 252
_U64_MARKER = 253
_U128_MARKER = 254


class ReplayCodecError(ValueError):
    """A replay record cannot be encoded or decoded in the asked version."""


def encode_varint(value: int) -> bytes:
    """One unsigned integer as a bincode 2 standard varint."""
    if value < 0:
        raise ReplayCodecError(f"varint cannot be negative: {value}")
    if value < _U16_MARKER:
        return bytes([value])
    if value <= 0xFFFF:
        return bytes([_U16_MARKER]) + struct.pack("<H", value)
    if value <= 0xFFFF_FFFF:
        return bytes([_U32_MARKER]) + struct.pack("<I", value)
    if value <= 0xFFFF_FFFF_FFFF_FFFF:
        return bytes([_U64_MARKER]) + struct.pack("<Q", value)
    raise ReplayCodecError(f"varint too large for u64: {value}")


def _encode_bytes(data: bytes) -> bytes:
    return encode_varint(len(data)) + data


def _encode_u256(value: int) -> bytes:
    if not 0 <= value < 1 << 256:
        raise ReplayCodecError(f"U256 out of range: {value}")
    return _encode_bytes(value.to_bytes(32, "big"))


def _encode_fixed(data: bytes, size: int, name: str) -> bytes:
    if len(data) != size:
        raise ReplayCodecError(f"{name} must be {size} bytes, got {len(data)}")
    return _encode_bytes(data)


def encode_record(record: ReplayRecord, version: int = CURRENT_WIRE_VERSION) -> bytes:
    """The §4.3 bytes of ``record`` in ``version`` (v1, v2 or v3)."""
    if version not in SUPPORTED_WIRE_VERSIONS:
        raise ReplayCodecError(f"unsupported replay wire version {version}")
    c = record.context
    out = [
        encode_varint(c.chain_id),
        encode_varint(c.number),
        encode_varint(len(c.block_hashes)),
    ]
    out.extend(_encode_fixed(h, 32, "block hash") for h in c.block_hashes)
    out += [
        encode_varint(c.timestamp),
        _encode_u256(c.base_fee),
        _encode_u256(c.pubdata_price),
        _encode_u256(c.native_price),
        _encode_fixed(c.coinbase, 20, "coinbase"),
        encode_varint(c.gas_limit),
        encode_varint(c.pubdata_limit),
        _encode_fixed(c.mix_hash, 32, "mix_hash"),
    ]
    if version >= REPLAY_WIRE_V2:
        out.append(encode_varint(c.execution_version))
    elif c.execution_version != 1:
        raise ReplayCodecError("v1 records cannot carry an execution_version other than 1")
    out.append(encode_varint(record.starting_l1_priority_id))
    out.append(encode_varint(len(record.transactions)))
    out.extend(_encode_bytes(tx) for tx in record.transactions)
    out += [
        encode_varint(record.previous_block_timestamp),
        _encode_bytes(record.node_version.encode()),
        _encode_fixed(record.block_output_hash, 32, "block_output_hash"),
    ]
    return b"".join(out)


class _Reader:
    """A cursor over one record's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise ReplayCodecError(f"record truncated at byte {self.pos} (needs {n} more)")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def varint(self, limit: int = 0xFFFF_FFFF_FFFF_FFFF) -> int:
        first = self.take(1)[0]
        if first < _U16_MARKER:
            value = first
        elif first == _U16_MARKER:
            value = struct.unpack("<H", self.take(2))[0]
        elif first == _U32_MARKER:
            value = struct.unpack("<I", self.take(4))[0]
        elif first == _U64_MARKER:
            value = struct.unpack("<Q", self.take(8))[0]
        else:
            raise ReplayCodecError(f"bad varint marker {first} at byte {self.pos - 1}")
        if value > limit:
            raise ReplayCodecError(f"varint {value} exceeds {limit} at byte {self.pos}")
        return value

    def byte_string(self) -> bytes:
        return self.take(self.varint(len(self.data)))

    def fixed(self, size: int, name: str) -> bytes:
        data = self.byte_string()
        if len(data) != size:
            raise ReplayCodecError(f"{name} must be {size} bytes, got {len(data)}")
        return data

    def u256(self, name: str) -> int:
        data = self.byte_string()
        if len(data) > 32:
            raise ReplayCodecError(f"{name} longer than 32 bytes")
        return int.from_bytes(data, "big")


def decode_record(data: bytes, version: int) -> ReplayRecord:
    """A ``ReplayRecord`` from its §4.3 bytes in ``version``; trailing bytes are an error."""
    if version not in SUPPORTED_WIRE_VERSIONS:
        raise ReplayCodecError(f"unsupported replay wire version {version}")
    r = _Reader(data)
    u32 = 0xFFFF_FFFF
    chain_id = r.varint()
    number = r.varint()
    count = r.varint()
    if count != 256:
        raise ReplayCodecError(f"block_hashes must hold 256 hashes, got {count}")
    hashes = tuple(r.fixed(32, "block hash") for _ in range(256))
    timestamp = r.varint()
    base_fee = r.u256("eip1559_basefee")
    pubdata_price = r.u256("pubdata_price")
    native_price = r.u256("native_price")
    coinbase = r.fixed(20, "coinbase")
    gas_limit = r.varint()
    pubdata_limit = r.varint()
    mix_hash = r.u256("mix_hash").to_bytes(32, "big")
    execution_version = r.varint(u32) if version >= REPLAY_WIRE_V2 else 1
    starting_id = r.varint()
    tx_count = r.varint(len(data))
    transactions = tuple(r.byte_string() for _ in range(tx_count))
    previous = r.varint()
    try:
        node_version = r.byte_string().decode()
    except UnicodeDecodeError:
        raise ReplayCodecError("node_version is not UTF-8") from None
    output_hash = r.u256("block_output_hash").to_bytes(32, "big")
    if r.pos != len(data):
        raise ReplayCodecError(f"{len(data) - r.pos} trailing bytes after the record")
    context = BlockContext(
        chain_id=chain_id,
        number=number,
        block_hashes=hashes,
        timestamp=timestamp,
        base_fee=base_fee,
        pubdata_price=pubdata_price,
        native_price=native_price,
        coinbase=coinbase,
        gas_limit=gas_limit,
        pubdata_limit=pubdata_limit,
        mix_hash=mix_hash,
        execution_version=execution_version,
    )
    return ReplayRecord(context, starting_id, transactions, previous, node_version, output_hash)
