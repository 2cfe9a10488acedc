"""Golden bytes and limits for the §4.1 replay stream framing."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.replay.framing import (
    MAX_FRAME_LENGTH,
    MAX_PREAMBLE_LENGTH,
    FramingError,
    RequestParser,
    StreamParser,
    encode_frame,
    encode_request,
    encode_version,
    requested_version,
)


class RequestTests(SynchronousTestCase):
    """The EN's request: preamble and starting block."""

    def test_request_golden(self):
        """Preamble bytes, then block 258 as u64 big-endian."""
        self.assertEqual(
            encode_request(258),
            b"POST /block_replays HTTP/1.0\r\n\r\n" + bytes.fromhex("0000000000000102"),
        )

    def test_parse_byte_by_byte(self):
        """The request arriving one byte at a time yields the block once complete."""
        parser = RequestParser()
        data = encode_request(258)
        results = [parser.feed(data[i : i + 1]) for i in range(len(data))]
        self.assertEqual(results[:-1], [None] * (len(data) - 1))
        self.assertEqual(results[-1], 258)

    def test_bare_newlines_and_headers(self):
        """Anything up to the first empty line is skipped, ``\\n\\n`` included."""
        parser = RequestParser()
        data = b"GET /x HTTP/1.1\nHost: a\n\n" + (5).to_bytes(8, "big")
        self.assertEqual(parser.feed(data), 5)

    def test_garbage(self):
        """No empty line within the limit, or bytes after the block, is a framing error."""
        self.assertRaises(FramingError, RequestParser().feed, b"x" * (MAX_PREAMBLE_LENGTH + 1))
        self.assertRaises(FramingError, RequestParser().feed, encode_request(1) + b"\x00")


class RequestedVersionTests(SynchronousTestCase):
    """Our ``zkos-replay-version`` preamble line."""

    def test_request_with_version_golden(self):
        """The line sits between the request line and the empty line."""
        self.assertEqual(
            encode_request(1, version=2),
            b"POST /block_replays HTTP/1.0\r\nzkos-replay-version: 2\r\n\r\n"
            + bytes.fromhex("0000000000000001"),
        )

    def test_parsed_from_the_header(self):
        """The parser keeps the header; the line is found case-insensitively."""
        parser = RequestParser()
        self.assertEqual(parser.feed(encode_request(7, version=1)), 7)
        self.assertEqual(requested_version(parser.header, 3), 1)
        header = b"POST / HTTP/1.0\nHost: x\nZKOS-Replay-Version:  2 "
        self.assertEqual(requested_version(header, 3), 2)

    def test_default_without_the_line(self):
        """The reference EN's preamble gets the server's version."""
        parser = RequestParser()
        parser.feed(encode_request(0))
        self.assertEqual(requested_version(parser.header, 3), 3)

    def test_not_a_number(self):
        """A version that is not a number is a framing error."""
        with self.assertRaises(FramingError) as caught:
            requested_version(b"POST / HTTP/1.0\r\nzkos-replay-version: three\r", 3)
        self.assertIn("zkos-replay-version is not a number", str(caught.exception))


class StreamTests(SynchronousTestCase):
    """The server's answer: version, then length-prefixed frames."""

    def test_version_and_frame_golden(self):
        """Version 3 as u32 BE; a frame is a u32 BE length and the payload."""
        self.assertEqual(encode_version(3), bytes.fromhex("00000003"))
        self.assertEqual(encode_frame(b"abc"), bytes.fromhex("00000003") + b"abc")
        self.assertEqual(encode_frame(b""), bytes(4))

    def test_parse_split_frames(self):
        """Frames split across reads and packed together come out whole and in order."""
        parser = StreamParser()
        data = encode_version(3) + encode_frame(b"one") + encode_frame(b"") + encode_frame(b"x" * 9)
        out = []
        for i in range(0, len(data), 5):
            out += parser.feed(data[i : i + 5])
        self.assertEqual(parser.version, 3)
        self.assertEqual(out, [b"one", b"", b"x" * 9])

    def test_oversized(self):
        """A frame over 8 MiB is refused when encoding and when its length arrives."""
        self.assertRaises(FramingError, encode_frame, b"\x00" * (MAX_FRAME_LENGTH + 1))
        parser = StreamParser()
        header = encode_version(3) + (MAX_FRAME_LENGTH + 1).to_bytes(4, "big")
        self.assertRaises(FramingError, parser.feed, header)

    def test_max_frame_accepted(self):
        """Exactly 8 MiB is allowed."""
        payload = b"\x01" * MAX_FRAME_LENGTH
        parser = StreamParser()
        self.assertEqual(parser.feed(encode_version(3) + encode_frame(payload)), [payload])
