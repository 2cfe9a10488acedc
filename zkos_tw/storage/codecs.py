"""The on-disk layout of storage: database names, key layouts and the versioned value codecs.

Schema version 1 fixes the database names and key layouts below. Every *value* storage writes
starts with a format byte (currently 1 everywhere); each format has one encoder and one decoder,
and a decoder refuses a format byte it does not know with a ``StorageError`` that names the
record. Golden bytes for every codec are in ``tests/storage/test_codecs.py``; a change to a format
is a new format byte and a new codec, never an edit of an old one. ``docs/storage.md`` has the
same tables in prose.

Keys (all integers big-endian, so LMDB's byte order is numeric order):

=====================  ====================================  ===================================
database               key                                   value
=====================  ====================================  ===================================
``block_replay_wal``   block u64                             envelope(WAL record)
``repository``         ``b"b"`` block u64                    block entry
``repository``         ``b"h"`` block hash                   number
``repository``         ``b"t"`` tx hash                      tx location
``repository``         ``b"x"`` tx hash                      envelope(EIP-2718 tx)
``repository``         ``b"r"`` tx hash                      envelope(receipt)
``repository``         ``b"l"`` block u64                    log list
``state``              flat key (32) block u64               state value
``preimages``          hash (32)                             envelope(preimage)
``tree``               node key (opaque)                     envelope(node)
``pubdata``            block u64                             envelope(block pubdata)
``address_index``      ``b"a"`` address block u64 index u32  roles
``address_index``      ``b"n"`` sender nonce u64             tx hash
``address_index``      ``b"c"`` contract address             creation
``meta``               ``b"schema_version"``                 schema version
``meta``               ``b"last_block/"`` database name      number
=====================  ====================================  ===================================
"""

from __future__ import annotations

import struct

from zkos_tw.storage.errors import StorageError
from zkos_tw.storage.records import (
    ROLE_ALL,
    Appearance,
    ContractCreation,
    LogWrite,
    StoredBlock,
    TxLocation,
)

SCHEMA_VERSION = 1

WAL_DB = b"block_replay_wal"
REPOSITORY_DB = b"repository"
STATE_DB = b"state"
PREIMAGES_DB = b"preimages"
TREE_DB = b"tree"
META_DB = b"meta"
PUBDATA_DB = b"pubdata"
ADDRESS_INDEX_DB = b"address_index"

#: The databases that hold block data; each has a last-block entry in ``meta``.
BLOCK_DBS: tuple[bytes, ...] = (WAL_DB, REPOSITORY_DB, STATE_DB, PREIMAGES_DB, TREE_DB)
#: Block databases added after schema 1 was first written: a data directory made before them
#: lacks them (a writable open creates them; a read-only open reads them as empty). They have
#: no last-block entry, and blocks written before them have no row.
LATER_DBS: tuple[bytes, ...] = (PUBDATA_DB, ADDRESS_INDEX_DB)
ALL_DBS: tuple[bytes, ...] = BLOCK_DBS + (META_DB,) + LATER_DBS

SCHEMA_KEY = b"schema_version"
LAST_BLOCK_PREFIX = b"last_block/"

REPO_BLOCK = b"b"
REPO_HASH = b"h"
REPO_TX_LOCATION = b"t"
REPO_TX = b"x"
REPO_RECEIPT = b"r"
REPO_LOGS = b"l"

INDEX_APPEARANCE = b"a"
INDEX_SENDER_NONCE = b"n"
INDEX_CREATION = b"c"

FORMAT_V1 = 1
_V1 = b"\x01"

_U32 = struct.Struct(">I")
U32 = _U32  # for the block write's inlined key layouts (``lmdb_storage._puts``)
_U64 = struct.Struct(">Q")
_TX_LOCATION = struct.Struct(">QI")
_LOG_HEAD = struct.Struct(">II20sB")
_APPEARANCE_TAIL = struct.Struct(">QI")


# -- keys ------------------------------------------------------------------------------------


def block_key(number: int) -> bytes:
    """The 8-byte big-endian key of a block number."""
    return _U64.pack(number)


def key_block(key: bytes) -> int:
    """The block number of an 8-byte big-endian key."""
    return _U64.unpack(key)[0]


def last_block_key(db_name: bytes) -> bytes:
    """The ``meta`` key holding a database's last block."""
    return LAST_BLOCK_PREFIX + db_name


def state_key(flat_key: bytes, number: int) -> bytes:
    """The ``state`` key of a flat key's value as written by block ``number``."""
    return flat_key + _U64.pack(number)


# -- the format byte -------------------------------------------------------------------------


def _payload(what: str, data: bytes) -> bytes:
    """The payload after a format-1 byte; a clear error for anything else."""
    if not data:
        raise StorageError(f"{what} record is empty")
    if data[0] != FORMAT_V1:
        raise StorageError(
            f"{what} record has format version {data[0]}, this node reads version {FORMAT_V1}"
        )
    return data[1:]


def _corrupt(what: str, data: bytes) -> StorageError:
    return StorageError(f"{what} record is malformed ({len(data)} bytes)")


# -- envelope: opaque bytes versioned by their producer ----------------------------------------


def encode_envelope_v1(payload: bytes) -> bytes:
    """Format 1 of an opaque record: the format byte, then the payload verbatim."""
    return _V1 + payload


def decode_envelope(data: bytes, what: str = "envelope") -> bytes:
    """The payload of an opaque record."""
    return _payload(what, data)


# -- numbers (meta last-block entries, block hash -> number) -----------------------------------


def encode_number_v1(number: int) -> bytes:
    """Format 1 of a block number: the format byte, then u64 big-endian."""
    return _V1 + _U64.pack(number)


def decode_number(data: bytes, what: str = "number") -> int:
    """The block number of a number record."""
    body = _payload(what, data)
    if len(body) != 8:
        raise _corrupt(what, data)
    return _U64.unpack(body)[0]


# -- schema version --------------------------------------------------------------------------


def encode_schema_v1(version: int) -> bytes:
    """Format 1 of the schema record: the format byte, then the schema version as u32."""
    return _V1 + _U32.pack(version)


def decode_schema(data: bytes) -> int:
    """The schema version of a schema record."""
    body = _payload("schema", data)
    if len(body) != 4:
        raise _corrupt("schema", data)
    return _U32.unpack(body)[0]


# -- transaction location --------------------------------------------------------------------


def encode_tx_location_v1(location: TxLocation) -> bytes:
    """Format 1: the format byte, block number u64, index in the block u32."""
    return _V1 + _TX_LOCATION.pack(location.block_number, location.index)


def tx_location_packer(block_number: int):
    """``pack(index)``: ``encode_tx_location_v1(TxLocation(block_number, index))``, faster (the
    block number's bytes are packed once; the block sink stores one per transaction)."""
    head = _V1 + _U64.pack(block_number)
    pack = _U32.pack
    return lambda index: head + pack(index)


def decode_tx_location(data: bytes) -> TxLocation:
    """The ``TxLocation`` of a tx location record."""
    body = _payload("tx location", data)
    if len(body) != _TX_LOCATION.size:
        raise _corrupt("tx location", data)
    return TxLocation(*_TX_LOCATION.unpack(body))


# -- block entry -----------------------------------------------------------------------------


def encode_block_v1(block: StoredBlock) -> bytes:
    """Format 1: format byte, block hash (32), tx count u32, tx hashes (32 each), block record."""
    return b"".join(
        (
            _V1,
            block.block_hash,
            _U32.pack(len(block.tx_hashes)),
            *block.tx_hashes,
            block.block_record,
        )
    )


def decode_block(number: int, data: bytes) -> StoredBlock:
    """The ``StoredBlock`` of block entry ``data`` stored under ``number``."""
    body = _payload("block", data)
    if len(body) < 36:
        raise _corrupt("block", data)
    count = _U32.unpack_from(body, 32)[0]
    end = 36 + 32 * count
    if len(body) < end:
        raise _corrupt("block", data)
    hashes = tuple(body[i : i + 32] for i in range(36, end, 32))
    return StoredBlock(number, body[:32], hashes, body[end:])


# -- log list --------------------------------------------------------------------------------


def encode_logs_v1(logs: tuple[LogWrite, ...]) -> bytes:
    """Format 1: format byte, count u32, then per log: tx index u32, log index u32, address (20),
    topic count u8, topics (32 each), data length u32, data."""
    parts = [_V1, _U32.pack(len(logs))]
    for log in logs:
        parts.append(_LOG_HEAD.pack(log.tx_index, log.log_index, log.address, len(log.topics)))
        parts.extend(log.topics)
        parts.append(_U32.pack(len(log.data)))
        parts.append(log.data)
    return b"".join(parts)


def decode_logs(data: bytes) -> tuple[LogWrite, ...]:
    """The logs of a log list record."""
    body = _payload("logs", data)
    try:
        (count,) = _U32.unpack_from(body, 0)
        offset = 4
        logs = []
        for _ in range(count):
            tx_index, log_index, address, n_topics = _LOG_HEAD.unpack_from(body, offset)
            offset += _LOG_HEAD.size
            topics = tuple(body[offset + 32 * i : offset + 32 * (i + 1)] for i in range(n_topics))
            offset += 32 * n_topics
            (length,) = _U32.unpack_from(body, offset)
            offset += 4
            log_data = body[offset : offset + length]
            offset += length
            if len(log_data) != length:
                raise _corrupt("logs", data)
            logs.append(LogWrite(tx_index, log_index, address, topics, log_data))
    except (struct.error, StorageError) as e:
        raise _corrupt("logs", data) from e
    if offset != len(body):
        raise _corrupt("logs", data)
    return tuple(logs)


# -- state value -----------------------------------------------------------------------------


def encode_state_value_v1(value: bytes) -> bytes:
    """Format 1 of a state history value: the format byte, then the 32-byte value."""
    return _V1 + value


def decode_state_value(data: bytes) -> bytes:
    """The 32-byte value of a state history record."""
    body = _payload("state value", data)
    if len(body) != 32:
        raise _corrupt("state value", data)
    return body


# -- address index ---------------------------------------------------------------------------


def appearance_key(address: bytes, number: int, tx_index: int) -> bytes:
    """The key of an address's appearance in transaction ``tx_index`` of block ``number``."""
    return INDEX_APPEARANCE + address + _APPEARANCE_TAIL.pack(number, tx_index)


def appearance_prefix(address: bytes) -> bytes:
    """The key prefix of every appearance of ``address``."""
    return INDEX_APPEARANCE + address


def sender_nonce_key(sender: bytes, nonce: int) -> bytes:
    """The key of the transaction ``sender`` sent with ``nonce``."""
    return INDEX_SENDER_NONCE + sender + _U64.pack(nonce)


def creation_key(contract: bytes) -> bytes:
    """The key of the record saying who made ``contract``."""
    return INDEX_CREATION + contract


def encode_roles_v1(roles: int) -> bytes:
    """Format 1 of an appearance value: the format byte, then the role bits as u8."""
    return _V1 + bytes([roles])


#: ``encode_roles_v1(roles)`` for every byte value, precomputed.
ROLES_V1: tuple[bytes, ...] = tuple(_V1 + bytes([roles]) for roles in range(256))


def decode_appearance(key: bytes, data: bytes) -> Appearance:
    """The ``Appearance`` of an appearance key and its value."""
    body = _payload("appearance", data)
    if len(body) != 1 or not 0 < body[0] <= ROLE_ALL or len(key) != 33:
        raise _corrupt("appearance", data)
    number, tx_index = _APPEARANCE_TAIL.unpack_from(key, 21)
    return Appearance(number, tx_index, body[0])


def encode_tx_hash_v1(tx_hash: bytes) -> bytes:
    """Format 1 of a transaction reference: the format byte, then the 32-byte hash."""
    return _V1 + tx_hash


def decode_tx_hash(data: bytes) -> bytes:
    """The hash of a transaction reference."""
    body = _payload("tx hash", data)
    if len(body) != 32:
        raise _corrupt("tx hash", data)
    return body


def encode_creation_v1(creation: ContractCreation) -> bytes:
    """Format 1 of a creation record: the format byte, the tx hash (32), the creator (20)."""
    return _V1 + creation.tx_hash + creation.creator


def decode_creation(data: bytes) -> ContractCreation:
    """The ``ContractCreation`` of a creation record."""
    body = _payload("creation", data)
    if len(body) != 52:
        raise _corrupt("creation", data)
    return ContractCreation(body[:32], body[32:])
