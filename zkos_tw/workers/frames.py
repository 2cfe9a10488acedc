"""The wire format between RPC worker processes and the sequencer process, version 2.

Every frame is ``version:u8 kind:u8 length:u32`` (big-endian) and ``length`` bytes of body; a
frame of another version is refused (the connection is dropped). One codec per version: a
version 2 gets its own ``encode_*`` / ``decode_*`` functions beside these, and the version byte
picks them. Golden bytes are in ``tests/workers/test_frames.py``; ``docs/rpc-workers.md`` has the
table.

Kinds (worker -> sequencer: ``SUBMIT``, ``QUERY``, ``WATCH_PENDING``; sequencer -> worker:
``ANSWERS``, ``REPLY``, ``HEAD``, ``PENDING``):

* ``SUBMIT``  ``request:u32 count:u16`` then per transaction ``hash:32 sender:20``, the decoded
  fields (``TX_FIELDS``: type, flags, chain id, nonce, gas, gas price, tip, fee cap, value, v, r,
  s, signing hash, to, where ``data`` lies in ``raw``), the access list (``count:u16``, per entry
  ``address:20 keys:u16 key:32...``) and ``length:u32 raw``: the worker decoded it, recovered
  ``sender`` and ran the stateless checks, and the sequencer builds its ``Transaction`` from
  these fields without decoding RLP (version 1 carried only ``hash sender length raw``, and RLP
  decoding was a sixth of the sequencer's GIL time under load, docs/load.md);
* ``ANSWERS`` ``request:u32 count:u16`` then per transaction ``0x00 hash:32`` (admitted) or
  ``0x01 length:u16 text`` (the pool's error text, UTF-8), in the order of the ``SUBMIT``;
* ``QUERY``   ``request:u32 what:u8 argument`` — ``PENDING_NONCE`` (address:20), ``POOLED``
  (hash:32), ``POOLED_BY_NONCE`` (address:20 nonce:u64);
* ``REPLY``   ``request:u32 found:u8`` then, when found, ``nonce:u64`` (``PENDING_NONCE``) or
  ``sender:20 raw`` (the pooled transaction);
* ``HEAD``    ``latest:u64 safe:u64 finalized:u64 flags:u8 committed:u64 executed:u64``: a block
  was stored (or L1 moved ``safe`` / ``finalized``); every block up to ``latest`` is readable
  from storage; flag bit 0: the node follows L1 batches, ``committed`` / ``executed`` are its
  last committed and executed batch numbers (``safe`` / ``finalized`` their last blocks);
* ``WATCH_PENDING`` ``on:u8``: send (or stop sending) ``PENDING`` frames to this worker;
* ``PENDING`` ``hash:32 sender:20 raw``: a transaction became pending in the pool.

Filters across workers (``zkos_tw.workers.filters``; either direction, the node relays):

* ``FILTER_CALL`` ``request:u32 worker:u16 call:u8 filter_id`` — worker -> node: run ``call``
  (``FILTER_CHANGES``, ``FILTER_LOGS``, ``FILTER_UNINSTALL``) on the filter ``filter_id``
  (ASCII) that worker ``worker`` installed; node -> worker: the same, ``worker`` being the
  worker that asked;
* ``FILTER_RESULT`` ``request:u32 status:u8 json`` — status 0: the call's result, 1: the
  JSON-RPC error object (``code``, ``message``, ``data``), as UTF-8 JSON;

and the workers' RPC metrics:

* ``METRICS`` (worker -> node) ``json``: the worker's RPC registry, UTF-8 JSON, a list of
  families ``[name, type, help, [[sample name, {label: value}, value], ...]]``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from zkos_tw.execution.transactions import BLOB, Transaction, decode_transaction

VERSION = 2
HEADER = struct.Struct(">BBI")
#: A frame body larger than this is refused (a SUBMIT carries at most one JSON-RPC batch).
MAX_BODY = 64 * 1024 * 1024

SUBMIT, ANSWERS, QUERY, REPLY, HEAD, WATCH_PENDING, PENDING = range(1, 8)
FILTER_CALL, FILTER_RESULT, METRICS = range(8, 11)
PENDING_NONCE, POOLED, POOLED_BY_NONCE = range(1, 4)
FILTER_CHANGES, FILTER_LOGS, FILTER_UNINSTALL = range(1, 4)

_U32_U16 = struct.Struct(">IH")
_U32_U8 = struct.Struct(">IB")
_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")
_HEAD = struct.Struct(">QQQBQQ")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
#: ``SUBMIT``'s fixed part per transaction, after ``hash:32 sender:20``: ``type:u8 flags:u8
#: chain_id:u64 nonce:u64 gas:u64 gas_price:32 tip:32 max_fee:32 value:32 v:32 r:32 s:32
#: signing_hash:32 to:20 data_offset:u32 data_length:u32`` (integers big-endian; flag bit 0:
#: the chain id is set, bit 1: ``to`` is set, else the transaction creates a contract).
TX_FIELDS = struct.Struct(">BBQQQ32s32s32s32s32s32s32s32s20sII")
_HAS_CHAIN_ID, _HAS_TO = 1, 2
_NO_TO = bytes(20)


class FrameError(Exception):
    """A frame that this version of the codec cannot read."""


@dataclass(frozen=True)
class Submission:
    """One admitted-by-the-worker transaction: its hash, recovered sender and EIP-2718 bytes;
    ``tx`` its decoded ``Transaction`` (``None`` in a ``PENDING`` push, which carries no fields;
    ``encode_submit`` then decodes ``raw``)."""

    tx_hash: bytes
    sender: bytes
    raw: bytes
    tx: Transaction | None = None


def frame(kind: int, body: bytes) -> bytes:
    """A version 2 frame of ``kind`` carrying ``body``."""
    return HEADER.pack(VERSION, kind, len(body)) + body


def _u256(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _encode_fields(tx: Transaction) -> bytes:
    if tx.tx_type == BLOB:
        raise ValueError("blob transactions are refused before they reach the sequencer")
    raw = tx.raw
    data = tx.data
    offset = raw.find(data) if data else 0
    flags = (0 if tx.chain_id is None else _HAS_CHAIN_ID) | (0 if tx.to is None else _HAS_TO)
    parts = [
        TX_FIELDS.pack(
            tx.tx_type,
            flags,
            tx.chain_id or 0,
            tx.nonce,
            tx.gas,
            _u256(tx.gas_price),
            _u256(tx.max_priority_fee_per_gas),
            _u256(tx.max_fee_per_gas),
            _u256(tx.value),
            _u256(tx.v),
            _u256(tx.r),
            _u256(tx.s),
            tx.signing_hash,
            tx.to or _NO_TO,
            offset,
            len(data),
        ),  # fmt: skip
        _U16.pack(len(tx.access_list)),
    ]
    for address, keys in tx.access_list:
        parts.append(address + _U16.pack(len(keys)) + b"".join(_u256(k) for k in keys))
    parts.append(_U32.pack(len(raw)))
    parts.append(raw)
    return b"".join(parts)


def encode_submit(request: int, items: list[Submission]) -> bytes:
    parts = [_U32_U16.pack(request, len(items))]
    for item in items:
        tx = item.tx if item.tx is not None else decode_transaction(item.raw)
        if tx.raw != item.raw:
            raise ValueError("a submission's transaction is not its raw bytes")
        parts.append(item.tx_hash + item.sender + _encode_fields(tx))
    return frame(SUBMIT, b"".join(parts))


_new = object.__new__
_from = int.from_bytes


def decode_submit(body: bytes) -> tuple[int, list[Submission]]:
    """The request id and the submissions, each with its ``Transaction`` built from the fields
    (no RLP decoding: the worker that sent them decoded ``raw``)."""
    request, count = _U32_U16.unpack_from(body)
    offset = _U32_U16.size
    items = []
    fields_size = TX_FIELDS.size
    unpack = TX_FIELDS.unpack_from
    try:
        for _ in range(count):
            tx_hash = body[offset : offset + 32]
            sender = body[offset + 32 : offset + 52]
            (
                tx_type, flags, chain_id, nonce, gas, gas_price, tip, max_fee, value, v, r, s,
                signing_hash, to, data_offset, data_length,
            ) = unpack(body, offset + 52)  # fmt: skip
            offset += 52 + fields_size
            (entries,) = _U16.unpack_from(body, offset)
            offset += 2
            access_list: tuple = ()
            if entries:
                found = []
                for _ in range(entries):
                    address = body[offset : offset + 20]
                    (keys,) = _U16.unpack_from(body, offset + 20)
                    offset += 22
                    found.append(
                        (
                            address,
                            tuple(
                                _from(body[offset + 32 * k : offset + 32 * k + 32], "big")
                                for k in range(keys)
                            ),
                        )
                    )
                    offset += 32 * keys
                access_list = tuple(found)
            (length,) = _U32.unpack_from(body, offset)
            offset += 4
            raw = body[offset : offset + length]
            if len(raw) != length or data_offset + data_length > length:
                raise FrameError("SUBMIT frame cut short")
            offset += length
            tx = _new(Transaction)
            d = tx.__dict__  # what the frozen dataclass's __init__ sets, at a fifth of its cost
            d["tx_type"] = tx_type
            d["chain_id"] = chain_id if flags & _HAS_CHAIN_ID else None
            d["nonce"] = nonce
            d["gas_price"] = _from(gas_price, "big")
            d["max_priority_fee_per_gas"] = _from(tip, "big")
            d["max_fee_per_gas"] = _from(max_fee, "big")
            d["gas"] = gas
            d["to"] = to if flags & _HAS_TO else None
            d["value"] = _from(value, "big")
            d["data"] = raw[data_offset : data_offset + data_length]
            d["access_list"] = access_list
            d["max_fee_per_blob_gas"] = 0
            d["blob_versioned_hashes"] = ()
            d["v"] = _from(v, "big")
            d["r"] = _from(r, "big")
            d["s"] = _from(s, "big")
            d["signing_hash"] = signing_hash
            d["raw"] = raw
            items.append(Submission(tx_hash, sender, raw, tx))
    except struct.error:
        raise FrameError("SUBMIT frame cut short") from None
    if offset != len(body):
        raise FrameError("SUBMIT frame has trailing bytes")
    return request, items


def encode_answers(request: int, answers: list[bytes | str]) -> bytes:
    """``answers``: per submitted transaction its hash (bytes) or the error text (str)."""
    parts = [_U32_U16.pack(request, len(answers))]
    for answer in answers:
        if isinstance(answer, bytes):
            parts.append(b"\x00" + answer)
        else:
            text = answer.encode()[:65535]
            parts.append(b"\x01" + struct.pack(">H", len(text)) + text)
    return frame(ANSWERS, b"".join(parts))


def decode_answers(body: bytes) -> tuple[int, list[bytes | str]]:
    request, count = _U32_U16.unpack_from(body)
    offset = _U32_U16.size
    answers: list[bytes | str] = []
    for _ in range(count):
        status = body[offset]
        if status == 0:
            answers.append(body[offset + 1 : offset + 33])
            offset += 33
        elif status == 1:
            (length,) = struct.unpack_from(">H", body, offset + 1)
            answers.append(body[offset + 3 : offset + 3 + length].decode(errors="replace"))
            offset += 3 + length
        else:
            raise FrameError(f"ANSWERS frame: unknown status {status}")
    if offset != len(body):
        raise FrameError("ANSWERS frame has trailing bytes")
    return request, answers


def encode_query(request: int, what: int, argument: bytes) -> bytes:
    return frame(QUERY, _U32_U8.pack(request, what) + argument)


def decode_query(body: bytes) -> tuple[int, int, bytes]:
    request, what = _U32_U8.unpack_from(body)
    return request, what, body[_U32_U8.size :]


def encode_reply(request: int, payload: bytes | None) -> bytes:
    """``payload``: ``None`` (not found) or the answer's bytes."""
    if payload is None:
        return frame(REPLY, _U32_U8.pack(request, 0))
    return frame(REPLY, _U32_U8.pack(request, 1) + payload)


def decode_reply(body: bytes) -> tuple[int, bytes | None]:
    request, found = _U32_U8.unpack_from(body)
    return request, body[_U32_U8.size :] if found else None


def encode_u64(value: int) -> bytes:
    return _U64.pack(value)


def decode_u64(payload: bytes) -> int:
    return _U64.unpack(payload)[0]


@dataclass(frozen=True)
class Head:
    """What a ``HEAD`` frame says; ``committed_batch`` / ``executed_batch`` are ``None`` when
    the node does not follow L1 batches."""

    latest: int
    safe: int
    finalized: int
    committed_batch: int | None = None
    executed_batch: int | None = None


def encode_head(head: Head) -> bytes:
    batches = head.committed_batch is not None
    return frame(
        HEAD,
        _HEAD.pack(
            head.latest,
            head.safe,
            head.finalized,
            1 if batches else 0,
            head.committed_batch or 0,
            head.executed_batch or 0,
        ),
    )


def decode_head(body: bytes) -> Head:
    latest, safe, finalized, flags, committed, executed = _HEAD.unpack(body)
    if flags & 1:
        return Head(latest, safe, finalized, committed, executed)
    return Head(latest, safe, finalized)


def encode_watch_pending(on: bool) -> bytes:
    return frame(WATCH_PENDING, b"\x01" if on else b"\x00")


def encode_pending(tx_hash: bytes, sender: bytes, raw: bytes) -> bytes:
    return frame(PENDING, tx_hash + sender + raw)


def decode_pending(body: bytes) -> Submission:
    return Submission(body[:32], body[32:52], body[52:])


_FILTER_CALL = struct.Struct(">IHB")


def encode_filter_call(request: int, worker: int, call: int, filter_id: str) -> bytes:
    return frame(FILTER_CALL, _FILTER_CALL.pack(request, worker, call) + filter_id.encode())


def decode_filter_call(body: bytes) -> tuple[int, int, int, str]:
    request, worker, call = _FILTER_CALL.unpack_from(body)
    return request, worker, call, body[_FILTER_CALL.size :].decode("ascii")


def encode_filter_result(request: int, ok: bool, value) -> bytes:
    """``value``: the result (``ok``) or the JSON-RPC error object, any JSON value."""
    payload = json.dumps(value, separators=(",", ":")).encode()
    return frame(FILTER_RESULT, _U32_U8.pack(request, 0 if ok else 1) + payload)


def decode_filter_result(body: bytes) -> tuple[int, bool, object]:
    request, status = _U32_U8.unpack_from(body)
    if status not in (0, 1):
        raise FrameError(f"FILTER_RESULT frame: unknown status {status}")
    return request, status == 0, json.loads(body[_U32_U8.size :])


def filter_result_request(body: bytes) -> int:
    """The request id of a ``FILTER_RESULT`` body."""
    if len(body) < _U32_U8.size:
        raise FrameError("FILTER_RESULT frame cut short")
    return _U32.unpack_from(body)[0]


def readdress_filter_result(body: bytes, request: int) -> bytes:
    """The ``FILTER_RESULT`` frame of ``body`` answering ``request`` instead."""
    return frame(FILTER_RESULT, _U32.pack(request) + body[_U32.size :])


def encode_metrics(families: list) -> bytes:
    """``families``: ``[name, type, help, [[sample name, labels, value], ...]]`` each."""
    return frame(METRICS, json.dumps(families, separators=(",", ":")).encode())


def decode_metrics(body: bytes) -> list:
    families = json.loads(body)
    if not isinstance(families, list):
        raise FrameError("METRICS frame: not a list of families")
    return families


class FrameReader:
    """Cuts a byte stream into ``(kind, body)`` frames; ``feed(data)`` returns the complete ones.

    Raises ``FrameError`` for a frame of another version or an oversized body.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        frames = []
        offset = 0
        buffer = self._buffer
        while len(buffer) - offset >= HEADER.size:
            version, kind, length = HEADER.unpack_from(buffer, offset)
            if version != VERSION:
                raise FrameError(f"frame version {version}, expected {VERSION}")
            if length > MAX_BODY:
                raise FrameError(f"frame of {length} bytes, the limit is {MAX_BODY}")
            end = offset + HEADER.size + length
            if end > len(buffer):
                break
            frames.append((kind, bytes(buffer[offset + HEADER.size : end])))
            offset = end
        if offset:
            del buffer[:offset]
        return frames
