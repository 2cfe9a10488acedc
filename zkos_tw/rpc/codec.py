"""Hex codecs and the parameter types of the JSON-RPC methods.

Encoding: quantities are ``0x`` + lowercase hex without leading zeros (``0x0`` for zero); data is
``0x`` + two hex digits per byte (``0x`` for empty). Decoding is what a parameter type does:
each type in ``PARAM_TYPES`` turns one JSON value into a Python value or raises
``InvalidParams`` whose detail names what was expected.

Parsed values: quantity -> ``int``; data, address (20 bytes), hash32 (32 bytes) -> ``bytes``;
block number -> ``BlockId``; block id -> ``BlockId`` (tag, number or hash, EIP-1898 objects too);
call request -> ``CallRequest``; filter -> ``LogFilter``; bool -> ``bool``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from zkos_tw.rpc.errors import InvalidParams

_HEX = re.compile(r"^0x[0-9a-fA-F]*$")
U64_MAX = 2**64 - 1
U32_MAX = 2**32 - 1
U256_MAX = 2**256 - 1
BLOCK_TAGS = ("latest", "pending", "safe", "finalized", "earliest")


def quantity(value: int) -> str:
    """``0x``-hex of a non-negative integer, without leading zeros."""
    return hex(value)


def data(value: bytes) -> str:
    """``0x``-hex of bytes."""
    return "0x" + bytes(value).hex()


def parse_quantity(value: Any, what: str = "quantity", maximum: int = U256_MAX) -> int:
    """A hex quantity (``"0x1a"``; a plain non-negative JSON integer is accepted too)."""
    if isinstance(value, bool):
        raise InvalidParams(f"invalid type: boolean, expected a hex {what}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        if not _HEX.match(value) or len(value) == 2:
            raise InvalidParams(f"invalid {what} {value!r}: expected 0x-prefixed hex")
        number = int(value, 16)
    else:
        raise InvalidParams(f"invalid type: {_json_type(value)}, expected a hex {what}")
    if number < 0 or number > maximum:
        raise InvalidParams(f"invalid {what} {value!r}: out of range")
    return number


def parse_data(value: Any, size: int | None = None, what: str = "data") -> bytes:
    """``0x``-prefixed hex bytes, of exactly ``size`` bytes when given."""
    if not isinstance(value, str):
        raise InvalidParams(f"invalid type: {_json_type(value)}, expected hex {what}")
    if not _HEX.match(value) or len(value) % 2:
        raise InvalidParams(f"invalid {what} {_short(value)}: expected 0x-prefixed hex bytes")
    raw = bytes.fromhex(value[2:])
    if size is not None and len(raw) != size:
        raise InvalidParams(f"invalid {what} {_short(value)}: expected {size} bytes")
    return raw


def parse_address(value: Any) -> bytes:
    """A 20-byte address."""
    return parse_data(value, 20, "address")


def parse_hash(value: Any) -> bytes:
    """A 32-byte hash."""
    return parse_data(value, 32, "hash")


def parse_bool(value: Any) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise InvalidParams(f"invalid type: {_json_type(value)}, expected a boolean")
    return value


def parse_any(value: Any) -> Any:
    """Any JSON value, as is."""
    return value


@dataclass(frozen=True)
class BlockId:
    """A block as a request names it: exactly one of ``tag``, ``number`` or ``hash``."""

    tag: str | None = None
    number: int | None = None
    hash: bytes | None = None
    require_canonical: bool = False

    @classmethod
    def latest(cls) -> BlockId:
        """The default when a block parameter is omitted."""
        return cls(tag="latest")


def parse_block_number(value: Any) -> BlockId:
    """A block number or tag (``BlockNumberOrTag``): ``"latest"``, ``"0x10"``."""
    if isinstance(value, str) and value in BLOCK_TAGS:
        return BlockId(tag=value)
    if isinstance(value, str) and _HEX.match(value) and len(value) > 2:
        return BlockId(number=parse_quantity(value, "block number", U64_MAX))
    raise InvalidParams(
        f"invalid block number or tag {_short(value)}: expected a hex number or one of "
        + ", ".join(BLOCK_TAGS)
    )


def parse_block_id(value: Any) -> BlockId:
    """A block id (EIP-1898): a tag, a number, a 32-byte hash, ``{"blockHash": h,
    "requireCanonical": b}`` or ``{"blockNumber": n}``."""
    if isinstance(value, dict):
        if "blockHash" in value and "blockNumber" not in value:
            canonical = value.get("requireCanonical", False)
            return BlockId(
                hash=parse_hash(value["blockHash"]),
                require_canonical=parse_bool(canonical) if canonical is not None else False,
            )
        if "blockNumber" in value and "blockHash" not in value:
            return parse_block_number(value["blockNumber"])
        raise InvalidParams("invalid block id: expected an object with blockHash or blockNumber")
    if isinstance(value, str) and len(value) == 66 and _HEX.match(value):
        return BlockId(hash=bytes.fromhex(value[2:]))
    return parse_block_number(value)


@dataclass(frozen=True)
class CallRequest:
    """A transaction request for ``eth_call`` / ``eth_estimateGas`` (alloy ``TransactionRequest``).

    Absent fields are ``None``. ``input`` is the call data (``input`` or ``data`` in the request).
    """

    from_: bytes | None = None
    to: bytes | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    max_fee_per_blob_gas: int | None = None
    value: int | None = None
    input: bytes | None = None
    nonce: int | None = None
    chain_id: int | None = None
    access_list: tuple = ()
    transaction_type: int | None = None
    blob_versioned_hashes: tuple | None = None
    authorization_list: tuple | None = None


_CALL_QUANTITIES = {
    "gas": "gas",
    "gasPrice": "gas_price",
    "maxFeePerGas": "max_fee_per_gas",
    "maxPriorityFeePerGas": "max_priority_fee_per_gas",
    "maxFeePerBlobGas": "max_fee_per_blob_gas",
    "value": "value",
    "nonce": "nonce",
    "chainId": "chain_id",
}


def parse_call_request(value: Any) -> CallRequest:
    """A call request object; unknown fields are ignored, as alloy does."""
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid type: {_json_type(value)}, expected a transaction request")
    fields: dict[str, Any] = {}
    for key, name in _CALL_QUANTITIES.items():
        if value.get(key) is not None:
            maximum = U64_MAX if key in ("gas", "nonce", "chainId") else U256_MAX
            fields[name] = parse_quantity(value[key], key, maximum)
    if value.get("from") is not None:
        fields["from_"] = parse_address(value["from"])
    if value.get("to") is not None:
        fields["to"] = parse_address(value["to"])
    payload = value.get("input")
    legacy = value.get("data")
    if payload is not None and legacy is not None and payload != legacy:
        raise InvalidParams(
            'both "data" and "input" are set and not equal. Please use "input" to pass '
            "transaction call data"
        )
    if payload is not None or legacy is not None:
        fields["input"] = parse_data(payload if payload is not None else legacy, what="input")
    kind = value.get("type", value.get("transactionType"))
    if kind is not None:
        fields["transaction_type"] = parse_quantity(kind, "transaction type", 0xFF)
    if value.get("accessList") is not None:
        fields["access_list"] = _parse_access_list(value["accessList"])
    if value.get("blobVersionedHashes") is not None:
        hashes = value["blobVersionedHashes"]
        if not isinstance(hashes, list):
            raise InvalidParams("invalid blobVersionedHashes: expected an array of hashes")
        fields["blob_versioned_hashes"] = tuple(parse_hash(h) for h in hashes)
    if value.get("authorizationList") is not None:
        items = value["authorizationList"]
        if not isinstance(items, list):
            raise InvalidParams("invalid authorizationList: expected an array")
        fields["authorization_list"] = tuple(items)
    return CallRequest(**fields)


def _parse_access_list(value: Any) -> tuple:
    if not isinstance(value, list):
        raise InvalidParams("invalid accessList: expected an array")
    entries = []
    for item in value:
        if not isinstance(item, dict) or "address" not in item:
            raise InvalidParams("invalid accessList entry: expected {address, storageKeys}")
        keys = item.get("storageKeys") or []
        if not isinstance(keys, list):
            raise InvalidParams("invalid accessList storageKeys: expected an array")
        entries.append((parse_address(item["address"]), tuple(parse_hash(k) for k in keys)))
    return tuple(entries)


@dataclass(frozen=True)
class LogFilter:
    """A log filter: a block range (or one block hash), addresses and topic positions.

    ``addresses`` is a tuple of 20-byte addresses (empty = any). ``topics`` has one entry per
    position: ``None`` (any) or a tuple of 32-byte alternatives.
    """

    from_block: BlockId | None = None
    to_block: BlockId | None = None
    block_hash: bytes | None = None
    addresses: tuple = ()
    topics: tuple = field(default=())


def parse_filter(value: Any) -> LogFilter:
    """A filter object (``fromBlock``, ``toBlock``, ``blockHash``, ``address``, ``topics``)."""
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid type: {_json_type(value)}, expected a filter object")
    block_hash = value.get("blockHash")
    from_block = value.get("fromBlock")
    to_block = value.get("toBlock")
    if block_hash is not None and (from_block is not None or to_block is not None):
        raise InvalidParams(
            "cannot specify both blockHash and fromBlock/toBlock, choose one or the other"
        )
    address = value.get("address")
    if address is None:
        addresses: tuple = ()
    elif isinstance(address, list):
        addresses = tuple(parse_address(a) for a in address)
    else:
        addresses = (parse_address(address),)
    topics = value.get("topics")
    if topics is None:
        topics = []
    if not isinstance(topics, list):
        raise InvalidParams("invalid topics: expected an array")
    if len(topics) > 4:
        raise InvalidParams("invalid topics: at most 4 topic positions")
    positions = []
    for topic in topics:
        if topic is None:
            positions.append(None)
        elif isinstance(topic, list):
            alternatives = tuple(parse_hash(t) for t in topic if t is not None)
            positions.append(alternatives or None)
        else:
            positions.append((parse_hash(topic),))
    while positions and positions[-1] is None:
        positions.pop()
    return LogFilter(
        from_block=parse_block_number(from_block) if from_block is not None else None,
        to_block=parse_block_number(to_block) if to_block is not None else None,
        block_hash=parse_hash(block_hash) if block_hash is not None else None,
        addresses=addresses,
        topics=tuple(positions),
    )


def parse_u64(value: Any) -> int:
    """A quantity that fits 64 bits (counts, indexes, nonces)."""
    return parse_quantity(value, "quantity", U64_MAX)


def parse_u32(value: Any) -> int:
    """A 32-bit number: Era's batch and block numbers (``L1BatchNumber``, ``L2BlockNumber``),
    a JSON integer or a hex quantity."""
    return parse_quantity(value, "number", U32_MAX)


# Parameter type name -> parser; a method declares its params with these names.
PARAM_TYPES = {
    "quantity": parse_quantity,
    "u64": parse_u64,
    "u32": parse_u32,
    "data": parse_data,
    "address": parse_address,
    "hash32": parse_hash,
    "block_number": parse_block_number,
    "block_id": parse_block_id,
    "call_request": parse_call_request,
    "filter": parse_filter,
    "bool": parse_bool,
    "any": parse_any,
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "sequence"
    return "map"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
