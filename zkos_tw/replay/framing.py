"""Replay stream framing (reference §4.1), as incremental parsers that protocols feed bytes to.

The EN sends ``POST /block_replays HTTP/1.0\\r\\n\\r\\n`` and then ``starting_block`` as a u64
big-endian; the server skips everything up to the first empty line (``\\n\\n`` or
``\\r\\n\\r\\n``), answers with the wire version as a u32 big-endian and then sends frames: a
u32 big-endian length and that many payload bytes, at most 8 MiB (one ``ReplayRecord`` each).
"""

from __future__ import annotations

import struct

PREAMBLE = b"POST /block_replays HTTP/1.0\r\n\r\n"
VERSION_HEADER = b"zkos-replay-version"
MAX_FRAME_LENGTH = 8 * 1024 * 1024
# how much of a preamble we read before calling it garbage (proxies add headers, not megabytes)
MAX_PREAMBLE_LENGTH = 16 * 1024


class FramingError(ValueError):
    """The peer sent bytes that are not a replay stream; the connection is to be closed."""


def encode_request(starting_block: int, version: int | None = None) -> bytes:
    """What the EN sends on connect: the preamble and ``starting_block`` (u64 BE); with
    ``version`` the preamble carries a ``zkos-replay-version`` line asking for that version."""
    preamble = PREAMBLE
    if version is not None:
        preamble = PREAMBLE[:-2] + VERSION_HEADER + b": %d\r\n\r\n" % version
    return preamble + struct.pack(">Q", starting_block)


def encode_version(version: int) -> bytes:
    """The server's first bytes: the wire version (u32 BE)."""
    return struct.pack(">I", version)


def encode_frame(payload: bytes) -> bytes:
    """One frame: u32-BE length prefix and the payload; more than 8 MiB is refused."""
    if len(payload) > MAX_FRAME_LENGTH:
        raise FramingError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME_LENGTH} limit")
    return struct.pack(">I", len(payload)) + payload


class RequestParser:
    """Server side: parses the preamble and ``starting_block``; ``feed`` returns it once known."""

    def __init__(self) -> None:
        self._buffer = b""
        self._header_done = False
        self.header = b""
        self.starting_block: int | None = None

    def feed(self, data: bytes) -> int | None:
        """Add bytes; the starting block once the request is complete, else None."""
        if self.starting_block is not None:
            if data:
                raise FramingError("unexpected bytes from the client after the request")
            return self.starting_block
        self._buffer += data
        if not self._header_done:
            ends = [
                (i, len(sep))
                for sep in (b"\r\n\r\n", b"\n\n")
                if (i := self._buffer.find(sep)) >= 0
            ]
            if not ends:
                if len(self._buffer) > MAX_PREAMBLE_LENGTH:
                    raise FramingError(
                        f"no empty line in the first {MAX_PREAMBLE_LENGTH} bytes of the request"
                    )
                return None
            index, size = min(ends)
            self.header = self._buffer[:index]
            self._buffer = self._buffer[index + size :]
            self._header_done = True
        if len(self._buffer) < 8:
            return None
        if len(self._buffer) > 8:
            raise FramingError("unexpected bytes from the client after the starting block")
        self.starting_block = struct.unpack(">Q", self._buffer)[0]
        self._buffer = b""
        return self.starting_block


def requested_version(header: bytes, default: int) -> int:
    """The wire version a ``zkos-replay-version: N`` header line asks for, else ``default``.

    Our extension: the reference EN sends no such line and gets the server's current version.
    """
    for line in header.split(b"\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == VERSION_HEADER.lower():
            text = value.strip()
            if not text.isdigit():
                raise FramingError(f"{VERSION_HEADER.decode()} is not a number: {text[:20]!r}")
            return int(text)
    return default


class StreamParser:
    """Client side: the server's version (u32 BE) then frames; ``feed`` returns new payloads."""

    def __init__(self, max_frame_length: int = MAX_FRAME_LENGTH) -> None:
        self._buffer = bytearray()
        self._max = max_frame_length
        self.version: int | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; every complete frame payload they finish, in order."""
        self._buffer += data
        if self.version is None:
            if len(self._buffer) < 4:
                return []
            self.version = struct.unpack(">I", self._buffer[:4])[0]
            del self._buffer[:4]
        frames = []
        while len(self._buffer) >= 4:
            (length,) = struct.unpack(">I", self._buffer[:4])
            if length > self._max:
                raise FramingError(f"frame of {length} bytes exceeds the {self._max} limit")
            if len(self._buffer) < 4 + length:
                break
            frames.append(bytes(self._buffer[4 : 4 + length]))
            del self._buffer[: 4 + length]
        return frames
