"""The batch verification wire protocol (reference §8.1 transport, §8.2 messages), version 1.

The external node (the signer) connects to the main node's ``batch_verification_address`` and
writes ``POST /batch_verification HTTP/1.0\\r\\n\\r\\n`` followed by the wire version it speaks
(u32 BE). The main node skips everything up to the first empty line, checks the version and
answers with its own (u32 BE). From then on both directions carry frames: a u32 BE length and
that many payload bytes (at most ``MAX_FRAME_LENGTH``). Payload v1, all integers big-endian:

=========  ==========================================================================
kind byte  fields
=========  ==========================================================================
1 Request  request_id u64, batch_number u64, process_from u64, process_to u64,
           first_block u64, last_block u64, chain_address [20], batch_data (u32 len)
2 Signed   request_id u64, batch_number u64, signature [65] (``r || s || v``)
3 Refused  request_id u64, batch_number u64, reason (u16 len, UTF-8, at most 1024 bytes)
=========  ==========================================================================

``batch_data`` is the exact commit calldata suffix (``0x02 || abi.encode(prev, [info])``) the
EIP-712 digest covers. Unlike the reference's v1 the request carries it: the EN recomputes it from
its own blocks and signs only an identical one. Anything else — an oversized or truncated frame,
trailing bytes, an unknown kind, an unsupported version — raises ``ProtocolError`` and the
receiving side closes that connection (the server keeps serving the others).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PREAMBLE = b"POST /batch_verification HTTP/1.0\r\n\r\n"
WIRE_VERSION = 1
SUPPORTED_VERSIONS = (1,)
#: Largest frame either side accepts (a batch's pubdata is at most ~110 kB).
MAX_FRAME_LENGTH = 8 * 1024 * 1024
#: Bytes of request header the server reads before calling it garbage.
MAX_PREAMBLE_LENGTH = 16 * 1024
MAX_REASON_LENGTH = 1024
SIGNATURE_LENGTH = 65

KIND_REQUEST = 1
KIND_SIGNED = 2
KIND_REFUSED = 3

_U32 = struct.Struct(">I")
_REQUEST_HEAD = struct.Struct(">BQQQQQQ20sI")
_ANSWER_HEAD = struct.Struct(">BQQ")


class ProtocolError(ValueError):
    """The peer sent bytes that are not this protocol; the connection is to be closed."""


@dataclass(frozen=True)
class Request:
    """Main node → EN: please sign the commit of ``batch_number`` (blocks first..last)."""

    request_id: int
    batch_number: int
    process_from: int
    process_to: int
    first_block: int
    last_block: int
    chain_address: bytes
    batch_data: bytes


@dataclass(frozen=True)
class Signed:
    """EN → main node: the EIP-712 signature over the request's commit."""

    request_id: int
    batch_number: int
    signature: bytes


@dataclass(frozen=True)
class Refused:
    """EN → main node: no signature, and why (names the first differing field)."""

    request_id: int
    batch_number: int
    reason: str


Message = Request | Signed | Refused


def encode_payload(message: Message) -> bytes:
    """The v1 payload of ``message`` (without the length prefix)."""
    if isinstance(message, Request):
        if len(message.chain_address) != 20:
            raise ValueError("chain_address is 20 bytes")
        return (
            _REQUEST_HEAD.pack(
                KIND_REQUEST,
                message.request_id,
                message.batch_number,
                message.process_from,
                message.process_to,
                message.first_block,
                message.last_block,
                message.chain_address,
                len(message.batch_data),
            )
            + message.batch_data
        )
    if isinstance(message, Signed):
        if len(message.signature) != SIGNATURE_LENGTH:
            raise ValueError(f"a signature is {SIGNATURE_LENGTH} bytes")
        head = _ANSWER_HEAD.pack(KIND_SIGNED, message.request_id, message.batch_number)
        return head + message.signature
    if isinstance(message, Refused):
        reason = message.reason.encode("utf-8")[:MAX_REASON_LENGTH]
        head = _ANSWER_HEAD.pack(KIND_REFUSED, message.request_id, message.batch_number)
        return head + struct.pack(">H", len(reason)) + reason
    raise TypeError(f"not a batch verification message: {message!r}")


def decode_payload(payload: bytes) -> Message:
    """The message in a v1 payload; ``ProtocolError`` saying what is wrong otherwise."""
    if not payload:
        raise ProtocolError("empty frame")
    kind = payload[0]
    if kind == KIND_REQUEST:
        if len(payload) < _REQUEST_HEAD.size:
            raise ProtocolError(f"truncated request: {len(payload)} bytes")
        _, rid, batch, first, last, fb, lb, chain, size = _REQUEST_HEAD.unpack_from(payload)
        data = payload[_REQUEST_HEAD.size :]
        if len(data) != size:
            raise ProtocolError(f"request batch_data is {len(data)} bytes, header says {size}")
        return Request(rid, batch, first, last, fb, lb, chain, bytes(data))
    if kind in (KIND_SIGNED, KIND_REFUSED):
        if len(payload) < _ANSWER_HEAD.size:
            raise ProtocolError(f"truncated answer: {len(payload)} bytes")
        _, rid, batch = _ANSWER_HEAD.unpack_from(payload)
        rest = payload[_ANSWER_HEAD.size :]
        if kind == KIND_SIGNED:
            if len(rest) != SIGNATURE_LENGTH:
                raise ProtocolError(f"signature is {len(rest)} bytes, expected 65")
            return Signed(rid, batch, bytes(rest))
        if len(rest) < 2:
            raise ProtocolError("truncated refusal")
        (size,) = struct.unpack_from(">H", rest)
        if size > MAX_REASON_LENGTH or len(rest) != 2 + size:
            raise ProtocolError(f"refusal reason length {size} does not fit the frame")
        try:
            reason = bytes(rest[2:]).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("refusal reason is not UTF-8") from None
        return Refused(rid, batch, reason)
    raise ProtocolError(f"unknown message kind {kind}")


def encode_frame(message: Message) -> bytes:
    """One frame: u32 BE length and the payload."""
    payload = encode_payload(message)
    if len(payload) > MAX_FRAME_LENGTH:
        raise ValueError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME_LENGTH} limit")
    return _U32.pack(len(payload)) + payload


def encode_hello(version: int = WIRE_VERSION) -> bytes:
    """What the EN writes on connect: the preamble and its wire version."""
    return PREAMBLE + _U32.pack(version)


def encode_version(version: int = WIRE_VERSION) -> bytes:
    """The main node's first bytes: its wire version (u32 BE)."""
    return _U32.pack(version)


def _check_version(version: int, who: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise ProtocolError(
            f"{who} speaks batch verification wire version {version}; supported: "
            + ", ".join(map(str, SUPPORTED_VERSIONS))
        )


class FrameParser:
    """Frames after the handshake; ``feed`` returns the decoded messages they complete."""

    def __init__(self, max_frame_length: int = MAX_FRAME_LENGTH) -> None:
        self._buffer = bytearray()
        self._max = max_frame_length

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= 4:
            (length,) = _U32.unpack_from(self._buffer)
            if length > self._max:
                raise ProtocolError(f"frame of {length} bytes exceeds the {self._max} limit")
            if len(self._buffer) < 4 + length:
                break
            payload = bytes(self._buffer[4 : 4 + length])
            del self._buffer[: 4 + length]
            messages.append(decode_payload(payload))
        return messages


class ServerHandshake:
    """Main node side: the preamble up to the empty line, then the client's version."""

    def __init__(self) -> None:
        self._buffer = b""
        self._header_done = False
        self.version: int | None = None

    def feed(self, data: bytes) -> bytes | None:
        """Add bytes; once the handshake is complete, the bytes after it (maybe empty)."""
        self._buffer += data
        if not self._header_done:
            ends = [(i, len(s)) for s in (b"\r\n\r\n", b"\n\n") if (i := self._buffer.find(s)) >= 0]
            if not ends:
                if len(self._buffer) > MAX_PREAMBLE_LENGTH:
                    raise ProtocolError(
                        f"no empty line in the first {MAX_PREAMBLE_LENGTH} bytes of the request"
                    )
                return None
            index, size = min(ends)
            if not self._buffer.startswith(b"POST /batch_verification"):
                raise ProtocolError("not a batch verification request")
            self._buffer = self._buffer[index + size :]
            self._header_done = True
        if len(self._buffer) < 4:
            return None
        (self.version,) = _U32.unpack_from(self._buffer)
        _check_version(self.version, "the signer")
        rest, self._buffer = self._buffer[4:], b""
        return rest


class ClientHandshake:
    """EN side: the server's version (u32 BE)."""

    def __init__(self) -> None:
        self._buffer = b""
        self.version: int | None = None

    def feed(self, data: bytes) -> bytes | None:
        self._buffer += data
        if len(self._buffer) < 4:
            return None
        (self.version,) = _U32.unpack_from(self._buffer)
        _check_version(self.version, "the main node")
        rest, self._buffer = self._buffer[4:], b""
        return rest
