"""Golden-bytes tests for the replay record codecs (reference §4.3) and the stream framing (§4.1)."""

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.replay.codec import (
    ReplayCodecError,
    decode_record,
    encode_record,
    encode_varint,
)
from zkos_tw.replay.framing import (
    MAX_FRAME_LENGTH,
    FramingError,
    RequestParser,
    StreamParser,
    encode_frame,
    encode_request,
    encode_version,
)
from zkos_tw.sequencer.blocks import BlockContext
from zkos_tw.sequencer.wal import ReplayRecord

H = lambda b: bytes([b]) * 32  # noqa: E731

# An L1 priority tx (0x7f) and an upgrade tx (0x7e) as the WAL holds them: type byte + RLP.
L1_TX = bytes.fromhex("7fc3010203")
UPGRADE_TX = bytes.fromhex("7ec20405")
L2_TX = bytes.fromhex("02c0")


def record(execution_version=3) -> ReplayRecord:
    hashes = tuple([bytes(32)] * 254 + [H(0xAA), H(0xBB)])
    context = BlockContext(
        chain_id=270,
        number=300,
        block_hashes=hashes,
        timestamp=1757589748,
        base_fee=1000,
        pubdata_price=0,
        native_price=1,
        coinbase=bytes(19) + b"\x01",
        gas_limit=100_000_000,
        pubdata_limit=110_000,
        mix_hash=H(0x11),
        execution_version=execution_version,
    )
    return ReplayRecord(context, 7, (UPGRADE_TX, L1_TX, L2_TX), 1757589747, "0.8.0", H(0x7C))


def u256(value: int) -> str:
    return "20" + value.to_bytes(32, "big").hex()


def golden(version=3) -> bytes:
    """The record's bytes written out field by field from §4.3."""
    parts = [
        "fb0e01",  # chain_id 270: u16 marker + LE
        "fb2c01",  # block_number 300
        "fb0001",  # 256 block hashes
        ("20" + "00" * 32) * 254,
        "20" + "aa" * 32,
        "20" + "bb" * 32,
        "fcf4b0c268",  # timestamp 1757589748 = 0x68c2b0f4: u32 marker + LE
        u256(1000),  # eip1559_basefee
        u256(0),  # pubdata_price
        u256(1),  # native_price
        "14" + "00" * 19 + "01",  # coinbase (byte string of 20)
        "fc00e1f505",  # gas_limit 100,000,000 = 0x05f5e100
        "fcb0ad0100",  # pubdata_limit 110,000 = 0x0001adb0
        "20" + "11" * 32,  # mix_hash
    ]
    if version >= 2:
        parts.append("03")  # execution_version
    parts += [
        "07",  # starting_l1_priority_id
        "03",  # three transactions
        "04" + UPGRADE_TX.hex(),  # 4 bytes
        "05" + L1_TX.hex(),  # 5 bytes
        "02" + L2_TX.hex(),
        "fcf3b0c268",  # previous_block_timestamp
        "05" + b"0.8.0".hex(),  # node_version as a string
        "20" + "7c" * 32,  # block_output_hash
    ]
    return bytes.fromhex("".join(parts))


class VarintTests(SynchronousTestCase):
    def test_boundaries(self):
        """Below 251 one byte; then the u16, u32 and u64 markers with little-endian values."""
        self.assertEqual(encode_varint(250), b"\xfa")
        self.assertEqual(encode_varint(251), b"\xfb\xfb\x00")
        self.assertEqual(encode_varint(0xFFFF), b"\xfb\xff\xff")
        self.assertEqual(encode_varint(0x10000), b"\xfc\x00\x00\x01\x00")
        self.assertEqual(encode_varint(1 << 32), b"\xfd" + (1 << 32).to_bytes(8, "little"))
        self.assertRaises(ReplayCodecError, encode_varint, 1 << 64)
        self.assertRaises(ReplayCodecError, encode_varint, -1)


class RecordCodecTests(SynchronousTestCase):
    def test_v3_golden_bytes(self):
        """A v3 record with upgrade, L1 and L2 transactions encodes to the hand-written bytes
        and decodes back to the same record."""
        self.assertEqual(encode_record(record()), golden(3))
        self.assertEqual(decode_record(golden(3), 3), record())

    def test_v2_is_v3(self):
        """v2 bytes equal v3 bytes (a field rename only)."""
        self.assertEqual(encode_record(record(), 2), golden(3))
        self.assertEqual(decode_record(golden(3), 2), record())

    def test_v1_has_no_execution_version(self):
        """v1 lacks execution_version; it decodes as 1, and a v1 record cannot carry another."""
        self.assertEqual(decode_record(golden(1), 1), record(execution_version=1))
        self.assertEqual(encode_record(record(execution_version=1), 1), golden(1))
        self.assertRaises(ReplayCodecError, encode_record, record(), 1)

    def test_bad_input_is_a_codec_error(self):
        """Truncated bytes, trailing bytes, a bad varint marker and an unknown version fail
        with ReplayCodecError, never another exception."""
        data = golden(3)
        for bad in (data[:-1], data + b"\x00", b"\xff" + data[1:], data[:5]):
            self.assertRaises(ReplayCodecError, decode_record, bad, 3)
        self.assertRaises(ReplayCodecError, decode_record, data, 4)
        self.assertRaises(ReplayCodecError, encode_record, record(), 4)


class FramingTests(SynchronousTestCase):
    def test_request_golden_bytes(self):
        """The EN's request is the HTTP-looking preamble and starting_block as u64 BE."""
        self.assertEqual(
            encode_request(0x0102),
            b"POST /block_replays HTTP/1.0\r\n\r\n" + bytes.fromhex("0000000000000102"),
        )
        self.assertEqual(encode_version(3), b"\x00\x00\x00\x03")
        self.assertEqual(encode_frame(b"abc"), b"\x00\x00\x00\x03abc")

    def test_request_parser_skips_headers_byte_by_byte(self):
        """The server skips everything up to the first empty line (\\n\\n too), fed in pieces."""
        data = b"POST /x HTTP/1.1\nHost: a\n\n" + (7).to_bytes(8, "big")
        parser = RequestParser()
        results = [parser.feed(data[i : i + 1]) for i in range(len(data))]
        self.assertEqual(results[-1], 7)
        self.assertEqual(set(results[:-1]), {None})

    def test_request_parser_refuses_garbage(self):
        """No empty line in 16 KiB, or bytes after the starting block, is a FramingError."""
        self.assertRaises(FramingError, RequestParser().feed, b"x" * 20_000)
        parser = RequestParser()
        self.assertRaises(FramingError, parser.feed, encode_request(1) + b"!")

    def test_stream_parser(self):
        """The client reads the version, then whole frames only, across arbitrary splits."""
        stream = encode_version(3) + encode_frame(b"one") + encode_frame(b"") + encode_frame(b"3")
        parser = StreamParser()
        frames = []
        for i in range(0, len(stream), 3):
            frames += parser.feed(stream[i : i + 3])
        self.assertEqual(parser.version, 3)
        self.assertEqual(frames, [b"one", b"", b"3"])

    def test_oversized_frame(self):
        """A frame over 8 MiB is refused on both sides."""
        self.assertRaises(FramingError, encode_frame, b"\x00" * (MAX_FRAME_LENGTH + 1))
        parser = StreamParser()
        header = encode_version(3) + (MAX_FRAME_LENGTH + 1).to_bytes(4, "big")
        self.assertRaises(FramingError, parser.feed, header)
