"""The batch verification wire codec v1: golden bytes, round trips and hostile input."""

from __future__ import annotations

import struct

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.batch_verification import protocol as p

CHAIN = bytes(range(1, 21))
REQUEST = p.Request(7, 3, 3, 3, 10, 12, CHAIN, b"\x02\xaa\xbb")
SIGNED = p.Signed(7, 3, bytes(range(65)))
REFUSED = p.Refused(7, 3, "new_state_commitment differs")

GOLDEN_REQUEST = (
    "0000004c"  # length 76
    "01"  # kind Request
    "0000000000000007" "0000000000000003" "0000000000000003" "0000000000000003"
    "000000000000000a" "000000000000000c"
    "0102030405060708090a0b0c0d0e0f1011121314"
    "00000003" "02aabb"
)  # fmt: skip
GOLDEN_SIGNED = "000000520200000000000000070000000000000003" + bytes(range(65)).hex()
GOLDEN_REFUSED = (
    "0000002f0300000000000000070000000000000003001c" + b"new_state_commitment differs".hex()
)


class GoldenBytesTests(SynchronousTestCase):
    """Every message kind has fixed bytes; decoding them gives the message back."""

    def test_request(self):
        """A request's frame is its golden bytes and decodes to itself."""
        self.assertEqual(p.encode_frame(REQUEST).hex(), GOLDEN_REQUEST)
        self.assertEqual(p.FrameParser().feed(bytes.fromhex(GOLDEN_REQUEST)), [REQUEST])

    def test_signed(self):
        """A signature answer's frame is its golden bytes."""
        self.assertEqual(p.encode_frame(SIGNED).hex(), GOLDEN_SIGNED)
        self.assertEqual(p.FrameParser().feed(bytes.fromhex(GOLDEN_SIGNED)), [SIGNED])

    def test_refused(self):
        """A refusal's frame is its golden bytes."""
        self.assertEqual(p.encode_frame(REFUSED).hex(), GOLDEN_REFUSED)
        self.assertEqual(p.FrameParser().feed(bytes.fromhex(GOLDEN_REFUSED)), [REFUSED])

    def test_hello_and_version(self):
        """The EN's hello is the preamble and u32 version 1; the server answers u32 1."""
        self.assertEqual(
            p.encode_hello(), b"POST /batch_verification HTTP/1.0\r\n\r\n\x00\x00\x00\x01"
        )
        self.assertEqual(p.encode_version(), b"\x00\x00\x00\x01")

    def test_byte_by_byte(self):
        """Frames split anywhere are reassembled, in order."""
        data = p.encode_frame(REQUEST) + p.encode_frame(SIGNED) + p.encode_frame(REFUSED)
        parser, got = p.FrameParser(), []
        for i in range(len(data)):
            got.extend(parser.feed(data[i : i + 1]))
        self.assertEqual(got, [REQUEST, SIGNED, REFUSED])
        self.assertEqual(parser.pending, 0)

    def test_long_reason_is_cut(self):
        """A reason above 1024 bytes is cut to 1024 on encoding."""
        long = p.Refused(1, 1, "x" * 5000)
        (decoded,) = p.FrameParser().feed(p.encode_frame(long))
        self.assertEqual(decoded.reason, "x" * 1024)


class HostileInputTests(SynchronousTestCase):
    """Bytes that are not the protocol raise ``ProtocolError`` with a clear message."""

    def assertRefuses(self, data: bytes, text: str, parser=None):
        parser = parser or p.FrameParser()
        error = self.assertRaises(p.ProtocolError, parser.feed, data)
        self.assertIn(text, str(error))

    def test_oversized_frame(self):
        """A length above the limit is refused before any payload arrives."""
        self.assertRefuses(struct.pack(">I", p.MAX_FRAME_LENGTH + 1), "exceeds the")

    def test_truncated_request(self):
        """A request frame shorter than its header."""
        self.assertRefuses(bytes.fromhex("000000050100000000"), "truncated request")

    def test_batch_data_length_mismatch(self):
        """The declared batch_data length must be what the frame holds."""
        frame = bytearray(bytes.fromhex(GOLDEN_REQUEST))
        frame[-7:-3] = struct.pack(">I", 9)
        self.assertRefuses(bytes(frame), "header says 9")

    def test_trailing_bytes_in_signature(self):
        """A signature frame with 66 signature bytes."""
        payload = bytes.fromhex(GOLDEN_SIGNED)[4:] + b"\0"
        self.assertRefuses(struct.pack(">I", len(payload)) + payload, "expected 65")

    def test_unknown_kind(self):
        """An unknown kind byte."""
        self.assertRefuses(bytes.fromhex("0000000109"), "unknown message kind 9")

    def test_empty_frame(self):
        """A zero-length frame."""
        self.assertRefuses(bytes(4), "empty frame")

    def test_refusal_not_utf8(self):
        """A refusal whose reason is not UTF-8."""
        payload = bytes.fromhex("03000000000000000100000000000000010002fffe")
        self.assertRefuses(struct.pack(">I", len(payload)) + payload, "not UTF-8")

    def test_bad_client_version(self):
        """The server refuses a signer that speaks another version, naming both."""
        handshake = p.ServerHandshake()
        error = self.assertRaises(p.ProtocolError, handshake.feed, p.encode_hello(2))
        self.assertEqual(
            str(error), "the signer speaks batch verification wire version 2; supported: 1"
        )

    def test_bad_server_version(self):
        """The signer refuses a main node that speaks another version."""
        error = self.assertRaises(p.ProtocolError, p.ClientHandshake().feed, p.encode_version(9))
        self.assertIn("the main node speaks batch verification wire version 9", str(error))

    def test_not_our_preamble(self):
        """A replay-stream preamble (or anything else) on this port is refused."""
        self.assertRefuses(
            b"POST /block_replays HTTP/1.0\r\n\r\n", "not a batch verification", p.ServerHandshake()
        )

    def test_endless_preamble(self):
        """No empty line within 16 KiB."""
        self.assertRefuses(b"POST " + b"a" * 20000, "no empty line", p.ServerHandshake())

    def test_handshake_rest(self):
        """Bytes after the client's version are handed back to the frame parser."""
        handshake = p.ServerHandshake()
        self.assertIsNone(handshake.feed(p.PREAMBLE))
        rest = handshake.feed(b"\0\0\0\x01" + p.encode_frame(SIGNED))
        self.assertEqual(handshake.version, 1)
        self.assertEqual(p.FrameParser().feed(rest), [SIGNED])
