"""Pubdata value compression, the block format and the DA fields (zksync-os-state.md §5.5-§5.6)."""

from hypothesis import given
from twisted.trial.unittest import SynchronousTestCase

from tests.strategies import value_changes
from zkos_tw.batcher.compression import (
    ADD,
    NOTHING,
    SUB,
    TRANSFORM,
    PubdataFormatError,
    ValueDiff,
    compress,
    compressed,
    decode_value,
)
from zkos_tw.batcher.pubdata import (
    AccountDiff,
    SlotDiff,
    block_pubdata,
    da_commitment,
    decode_batch_pubdata,
    decode_block_pubdata,
    operator_da_input,
)
from zkos_tw.hashing import keccak256
from zkos_tw.state import AccountProperties, StorageWrite, flat_key
from zkos_tw.state.bytecode import deploy_code
from zkos_tw.state.keys import ACCOUNT_PROPERTIES_STORAGE_ADDRESS, ZERO32, account_key

#: Testnet batch 10 (zksync-os-server lib/l1_sender/src/batcher_model.rs): one block, a 21 000-gas
#: transfer at 1000 wei; the coinbase's balance goes up, the sender's nonce and balance change.
SAMPLE_PUBDATA = bytes.fromhex(
    "74198701c1d91529ce733911379945224b192930091475463e8f62a47a10d8a0"
    "00000002"
    "c1198a72505f46d722ed8e0ca0f9bfe42ba3a2d868a618d9d55a80ba9255f761"
    "142101406f40"
    "a648509bbbe6c5499c91570289dbd997392df171919a9d566d3e8d0139e4b7e6"
    "1c0901"
    "2201406f40"
    "00000000"
    "00000000"
)
SAMPLE_KECCAK = "c966b4cd6f7fcb13b2deb0dc9355f9ab6a2e5863bd75942c580ba73148cd4815"
SAMPLE_DA_COMMITMENT = "86b130c978627d2acb4a68c823cfc31efadf6482862566d364cc4bc15e500e2b"
FEE = 21_000_000


class CompressionTests(SynchronousTestCase):
    """The shortest encoding wins; ties go to Nothing, Add, Sub, Transform in that order."""

    CASES = [
        # (initial, final, kind, encoded hex)
        (0, 1, ADD, "0901"),  # Add and Transform both 2 bytes: Add first
        (5, 0, TRANSFORM, "03"),  # Sub 5 is 2 bytes, Transform 0 is 1
        (10, 10 + FEE, ADD, "2101406f40"),  # ties Transform (4 bytes): Add first
        (10**18, 10**18 - FEE, SUB, "2201406f40"),
        (256, 255, SUB, "0a01"),  # ties Transform 0xff: Sub first
        (10 + FEE, 10, TRANSFORM, "0b0a"),
        (2**200, 7, TRANSFORM, "0b07"),
        (7, 2**200 + 7, ADD, "d1" + "01" + "00" * 25),
        (0, 2**255, NOTHING, "00" + "80" + "00" * 31),
        (2**255, 0, TRANSFORM, "03"),
        (3, 2**256 - 1, NOTHING, "00" + "ff" * 32),
    ]

    def test_table(self):
        """Each case picks the expected type and bytes, and decodes back to the final value."""
        for initial, final, kind, encoded in self.CASES:
            diff = compress(initial, final)
            self.assertEqual((diff.kind, diff.encode().hex()), (kind, encoded), (initial, final))
            decoded, end = decode_value(diff.encode(), 0)
            self.assertEqual(end, len(diff.encode()))
            self.assertEqual(decoded.apply(initial), final)

    @given(value_changes)
    def test_round_trip_and_shortest(self, change):
        """Any change decodes back to its final value, and no applicable encoding is shorter."""
        initial, final = change
        encoded = compress(initial, final).encode()
        decoded, end = decode_value(encoded, 0)
        self.assertEqual((decoded.apply(initial), end), (final, len(encoded)))
        lengths = [33] + [
            1 + (op.bit_length() + 7) // 8
            for op in (final - initial, initial - final, final)
            if op >= 0 and op.bit_length() <= 248
        ]
        self.assertEqual(len(encoded), min(lengths))

    def test_compressed_table(self):
        """``compressed`` (the sink's fast path) gives the table's bytes."""
        for initial, final, _, encoded in self.CASES:
            self.assertEqual(compressed(initial, final).hex(), encoded, (initial, final))
        self.assertRaises(ValueError, compressed, 0, 2**256)

    @given(value_changes)
    def test_compressed_is_compress_encoded(self, change):
        """``compressed(a, b)`` is ``compress(a, b).encode()`` for any change (differential)."""
        initial, final = change
        self.assertEqual(compressed(initial, final), compress(initial, final).encode())

    def test_sub_beats_transform(self):
        """A small decrease of a large value is a Sub."""
        diff = compress(2**100, 2**100 - 3)
        self.assertEqual((diff.kind, diff.encode()), (SUB, b"\x0a\x03"))

    def test_no_wrapping(self):
        """Add and Sub never wrap around 2**256."""
        self.assertEqual(compress(2**256 - 1, 0).kind, TRANSFORM)
        with self.assertRaises(PubdataFormatError):
            ValueDiff(SUB, 2).apply(1)

    def test_malformed(self):
        """Unknown types, a Nothing with a length and truncated operands are rejected."""
        for data in (b"\x05", b"\x08" + b"\0" * 32, b"\x21\x01", b""):
            with self.assertRaises(PubdataFormatError):
                decode_value(data, 0)


def _sample_writes():
    """The sample's two account writes with made-up records before the block."""
    coinbase_key, sender_key = SAMPLE_PUBDATA[36:68], SAMPLE_PUBDATA[74:106]
    coinbase = AccountProperties(balance=10**18)
    sender = AccountProperties(nonce=4, balance=5 * 10**18)
    after = {
        coinbase_key: coinbase.with_balance(coinbase.balance + FEE),
        sender_key: sender.with_nonce(5).with_balance(sender.balance - FEE),
    }
    before = {coinbase_key: coinbase, sender_key: sender}
    preimages = {r.hash(): r.encode() for r in (*before.values(), *after.values())}
    writes = [
        StorageWrite(k, after[k].hash(), ACCOUNT_PROPERTIES_STORAGE_ADDRESS, bytes(32))
        for k in (coinbase_key, sender_key)
    ]
    return writes, {k: r.hash() for k, r in before.items()}, preimages, before, after


class SampleTests(SynchronousTestCase):
    """The 122-byte testnet sample: encoding, decoding and its DA commitment (§5.5 vector)."""

    def test_encode(self):
        """Our encoder produces the sample's bytes from the block's account changes."""
        writes, initial, preimages, _, _ = _sample_writes()
        pubdata = block_pubdata(SAMPLE_PUBDATA[:32], writes, initial.__getitem__, preimages.get)
        self.assertEqual(pubdata.hex(), SAMPLE_PUBDATA.hex())

    def test_decode(self):
        """The sample decodes to the coinbase's +fee and the sender's nonce +1, balance -fee."""
        decoded, used = decode_block_pubdata(SAMPLE_PUBDATA)
        self.assertEqual(used, 122)
        self.assertEqual(decoded.block_hash, SAMPLE_PUBDATA[:32])
        coinbase, sender = decoded.diffs
        self.assertEqual((coinbase.nonce, coinbase.balance), (None, ValueDiff(ADD, FEE)))
        self.assertEqual((sender.nonce, sender.balance), (ValueDiff(ADD, 1), ValueDiff(SUB, FEE)))
        self.assertEqual((decoded.logs, decoded.messages), ((), ()))
        _, _, _, before, after = _sample_writes()
        for diff in decoded.diffs:
            self.assertEqual(diff.apply(before[diff.key]), after[diff.key])

    def test_da_commitment(self):
        """keccak(pubdata) and da_commitment are the reference's batch 10 values."""
        self.assertEqual(keccak256(SAMPLE_PUBDATA).hex(), SAMPLE_KECCAK)
        self.assertEqual(da_commitment(SAMPLE_PUBDATA).hex(), SAMPLE_DA_COMMITMENT)

    def test_operator_da_input(self):
        """Rollup: header || 0x00 || pubdata || 0^32 (252 bytes here); validium: 32 zeros."""
        data = operator_da_input(SAMPLE_PUBDATA, "Rollup")
        self.assertEqual(len(data), 97 + 1 + 122 + 32)
        self.assertEqual(data[:97], ZERO32 + bytes.fromhex(SAMPLE_KECCAK) + b"\x01" + ZERO32)
        self.assertEqual(data[97:], b"\x00" + SAMPLE_PUBDATA + ZERO32)
        self.assertEqual(operator_da_input(SAMPLE_PUBDATA, "Validium"), ZERO32)
        with self.assertRaises(ValueError):
            operator_da_input(SAMPLE_PUBDATA, "Blobs")


class BlockFormatTests(SynchronousTestCase):
    """Slots, deployments, logs and messages round-trip through the decoder."""

    def test_slots_deployment_logs_messages(self):
        """A block with a slot write, a deployment, a log and a message decodes to the same."""
        contract = b"\x42" * 20
        code = bytes.fromhex("6001600055005b")
        record, blob_hash, blob = deploy_code(AccountProperties(nonce=0, balance=3), code)
        record = record.with_nonce(1)
        slot = (1).to_bytes(32, "big")
        writes = [
            StorageWrite(flat_key(contract, slot), (9).to_bytes(32, "big"), contract, slot),
            StorageWrite(
                account_key(contract),
                record.hash(),
                ACCOUNT_PROPERTIES_STORAGE_ADDRESS,
                bytes(12) + contract,
            ),
        ]
        old = AccountProperties(balance=3)
        initial = {writes[0].key: (4).to_bytes(32, "big"), writes[1].key: old.hash()}
        preimages = {old.hash(): old.encode(), record.hash(): record.encode(), blob_hash: blob}
        log = (0, 1, 0, b"\x80\x01".rjust(20, b"\0"), b"\x11" * 32, (1).to_bytes(32, "big"))
        pubdata = block_pubdata(
            b"\xbb" * 32, writes, initial.__getitem__, preimages.get, [log], [b"hello"]
        )
        decoded, used = decode_block_pubdata(pubdata)
        self.assertEqual(used, len(pubdata))
        slot_diff, account_diff = decoded.diffs
        self.assertIsInstance(slot_diff, SlotDiff)
        self.assertEqual(slot_diff.apply(initial[writes[0].key]), writes[0].value)
        self.assertIsInstance(account_diff, AccountDiff)
        self.assertEqual(account_diff.deployment.code, code)
        self.assertEqual(account_diff.apply(old), record)
        self.assertEqual(len(decoded.logs), 1)
        self.assertEqual(decoded.logs[0][:4], b"\x00\x01\x00\x00")
        self.assertEqual(decoded.messages, (b"hello",))
        # RLP-decoded receipt entries (bytes for the integers) encode the same log.
        as_bytes = (b"", b"\x01", b"", *log[3:])
        again = block_pubdata(
            b"\xbb" * 32, writes, initial.__getitem__, preimages.get, [as_bytes], [b"hello"]
        )
        self.assertEqual(again, pubdata)
        self.assertEqual(len(decode_batch_pubdata(pubdata + SAMPLE_PUBDATA)), 2)

    def test_truncated(self):
        """Cutting the sample anywhere is a format error, not a wrong decode."""
        for end in (10, 40, 70, 110, 118):
            with self.assertRaises(PubdataFormatError):
                decode_block_pubdata(SAMPLE_PUBDATA[:end])
