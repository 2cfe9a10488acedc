"""Golden bytes for every storage format (STYLE rule 13): keys, and each value codec of format 1.

If one of these tests fails, a persisted format changed: add a new format byte and codec instead.
"""

from twisted.trial.unittest import TestCase

from zkos_tw.storage import (
    Appearance,
    ContractCreation,
    LogWrite,
    StorageError,
    StoredBlock,
    TxLocation,
)
from zkos_tw.storage import codecs as c

BLOCK = StoredBlock(7, b"\xaa" * 32, (b"\x11" * 32, b"\x22" * 32), b"rec")
BLOCK_V1 = bytes.fromhex("01" + "aa" * 32 + "00000002" + "11" * 32 + "22" * 32 + "726563")
LOGS = (LogWrite(1, 2, b"\x33" * 20, (b"\x44" * 32,), b"dd"), LogWrite(0, 0, b"\x55" * 20, (), b""))
LOGS_V1 = bytes.fromhex(
    "01"
    "00000002"
    "00000001"
    "00000002" + "33" * 20 + "01" + "44" * 32 + "00000002"
    "6464"
    "00000000"
    "00000000" + "55" * 20 + "00"
    "00000000"
)


class KeyLayoutTests(TestCase):
    """The key layouts of schema version 1."""

    def test_schema_version(self):
        """This code reads and writes schema version 1."""
        self.assertEqual(c.SCHEMA_VERSION, 1)

    def test_database_names(self):
        """The named databases of ARCHITECTURE.md section 5, plus meta, plus the later pubdata."""
        self.assertEqual(
            c.ALL_DBS,
            (
                b"block_replay_wal",
                b"repository",
                b"state",
                b"preimages",
                b"tree",
                b"meta",
                b"pubdata",
                b"address_index",
            ),
        )
        self.assertEqual(c.LATER_DBS, (b"pubdata", b"address_index"))

    def test_block_key(self):
        """Block numbers are u64 big-endian keys."""
        self.assertEqual(c.block_key(258), bytes.fromhex("0000000000000102"))
        self.assertEqual(c.key_block(bytes.fromhex("0000000000000102")), 258)

    def test_state_key(self):
        """State history keys are the flat key followed by the block number."""
        self.assertEqual(
            c.state_key(b"\x77" * 32, 9), b"\x77" * 32 + bytes.fromhex("0000000000000009")
        )

    def test_meta_keys(self):
        """Meta keys: the schema version and one last-block entry per database."""
        self.assertEqual(c.SCHEMA_KEY, b"schema_version")
        self.assertEqual(c.last_block_key(c.STATE_DB), b"last_block/state")

    def test_repository_prefixes(self):
        """Repository record kinds are told apart by a one-byte prefix."""
        self.assertEqual(
            (c.REPO_BLOCK, c.REPO_HASH, c.REPO_TX_LOCATION, c.REPO_TX, c.REPO_RECEIPT, c.REPO_LOGS),
            (b"b", b"h", b"t", b"x", b"r", b"l"),
        )

    def test_address_index_keys(self):
        """Address index keys: ``a`` address block index, ``n`` sender nonce, ``c`` contract."""
        address = b"\x12" * 20
        self.assertEqual(
            c.appearance_key(address, 258, 3),
            b"a" + address + bytes.fromhex("000000000000010200000003"),
        )
        self.assertEqual(c.appearance_prefix(address), b"a" + address)
        self.assertEqual(
            c.sender_nonce_key(address, 5), b"n" + address + bytes.fromhex("0000000000000005")
        )
        self.assertEqual(c.creation_key(address), b"c" + address)


class CodecGoldenTests(TestCase):
    """Each format-1 codec encodes to known bytes and decodes them back."""

    def test_envelope(self):
        """Envelope: 0x01 then the payload verbatim."""
        self.assertEqual(c.encode_envelope_v1(b"abc"), bytes.fromhex("01616263"))
        self.assertEqual(c.decode_envelope(bytes.fromhex("01616263")), b"abc")
        self.assertEqual(c.decode_envelope(b"\x01"), b"")

    def test_number(self):
        """Number: 0x01 then u64 big-endian."""
        golden = bytes.fromhex("010102030405060708")
        self.assertEqual(c.encode_number_v1(0x0102030405060708), golden)
        self.assertEqual(c.decode_number(golden), 0x0102030405060708)

    def test_schema(self):
        """Schema record: 0x01 then u32 big-endian."""
        self.assertEqual(c.encode_schema_v1(1), bytes.fromhex("0100000001"))
        self.assertEqual(c.decode_schema(bytes.fromhex("0100000007")), 7)

    def test_tx_location(self):
        """Tx location: 0x01, block u64, index u32."""
        golden = bytes.fromhex("01000000000000000500000002")
        self.assertEqual(c.encode_tx_location_v1(TxLocation(5, 2)), golden)
        self.assertEqual(c.decode_tx_location(golden), TxLocation(5, 2))

    def test_block(self):
        """Block entry: 0x01, hash, tx count u32, tx hashes, block record."""
        self.assertEqual(c.encode_block_v1(BLOCK), BLOCK_V1)
        self.assertEqual(c.decode_block(7, BLOCK_V1), BLOCK)

    def test_logs(self):
        """Log list: 0x01, count u32, then each log's fixed head, topics and data."""
        self.assertEqual(c.encode_logs_v1(LOGS), LOGS_V1)
        self.assertEqual(c.decode_logs(LOGS_V1), LOGS)
        self.assertEqual(c.encode_logs_v1(()), bytes.fromhex("0100000000"))
        self.assertEqual(c.decode_logs(bytes.fromhex("0100000000")), ())

    def test_state_value(self):
        """State value: 0x01 then the 32-byte value."""
        golden = b"\x01" + b"\x66" * 32
        self.assertEqual(c.encode_state_value_v1(b"\x66" * 32), golden)
        self.assertEqual(c.decode_state_value(golden), b"\x66" * 32)

    def test_appearance(self):
        """Appearance value: 0x01 then the role bits; block and index come from the key."""
        key = c.appearance_key(b"\x12" * 20, 9, 2)
        self.assertEqual(c.encode_roles_v1(0x13), b"\x01\x13")
        self.assertEqual(c.decode_appearance(key, b"\x01\x13"), Appearance(9, 2, 0x13))

    def test_tx_hash(self):
        """Transaction reference: 0x01 then the 32-byte hash."""
        self.assertEqual(c.encode_tx_hash_v1(b"\x42" * 32), b"\x01" + b"\x42" * 32)
        self.assertEqual(c.decode_tx_hash(b"\x01" + b"\x42" * 32), b"\x42" * 32)

    def test_creation(self):
        """Creation record: 0x01, the tx hash (32), the creator (20)."""
        creation = ContractCreation(b"\x42" * 32, b"\x43" * 20)
        golden = b"\x01" + b"\x42" * 32 + b"\x43" * 20
        self.assertEqual(c.encode_creation_v1(creation), golden)
        self.assertEqual(c.decode_creation(golden), creation)


class CodecRefusalTests(TestCase):
    """Decoders refuse unknown formats and malformed records with a clear StorageError."""

    def test_unknown_format(self):
        """A record with format byte 2 is refused, naming the record and both versions."""
        e = self.assertRaises(StorageError, c.decode_number, b"\x02" + bytes(8), "last block")
        self.assertEqual(
            str(e), "last block record has format version 2, this node reads version 1"
        )
        for decode in (
            c.decode_envelope,
            c.decode_schema,
            c.decode_tx_location,
            c.decode_logs,
            c.decode_state_value,
            c.decode_tx_hash,
            c.decode_creation,
        ):
            self.assertRaises(StorageError, decode, b"\x09")
        self.assertRaises(StorageError, c.decode_block, 0, b"\x09" + bytes(40))

    def test_empty(self):
        """An empty record is refused."""
        self.assertRaises(StorageError, c.decode_envelope, b"")

    def test_wrong_lengths(self):
        """Fixed-size records of the wrong length are refused."""
        self.assertRaises(StorageError, c.decode_number, b"\x01" + bytes(7))
        self.assertRaises(StorageError, c.decode_schema, b"\x01" + bytes(5))
        self.assertRaises(StorageError, c.decode_tx_location, b"\x01" + bytes(11))
        self.assertRaises(StorageError, c.decode_state_value, b"\x01" + bytes(31))
        self.assertRaises(StorageError, c.decode_block, 0, BLOCK_V1[:40])
        self.assertRaises(StorageError, c.decode_tx_hash, b"\x01" + bytes(31))
        self.assertRaises(StorageError, c.decode_creation, b"\x01" + bytes(51))
        key = c.appearance_key(b"\x12" * 20, 9, 2)
        for bad in (b"\x01", b"\x01\x00", b"\x01\x20", b"\x01\x01\x01"):
            self.assertRaises(StorageError, c.decode_appearance, key, bad)

    def test_truncated_logs(self):
        """A log list cut short, or with bytes left over, is refused."""
        for bad in (LOGS_V1[:-1], LOGS_V1[:30], LOGS_V1 + b"\x00"):
            self.assertRaises(StorageError, c.decode_logs, bad)
