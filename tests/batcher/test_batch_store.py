"""``IBatchStore`` conformance, bound to the LMDB and the in-memory store, plus the LMDB file's
record format (golden bytes), persistence across re-opening, and corrupt records."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import lmdb
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.batcher.envelopes import envelope, golden_envelope
from zkos_tw.batcher.batch_store import (
    FILE_NAME,
    BatchStoreError,
    LMDBBatchStore,
    decode_batch,
    encode_batch,
)
from zkos_tw.interfaces import IBatchStore
from zkos_tw.testing.memory_batch_store import MemoryBatchStore

GOLDEN = Path(__file__).parent / "golden" / "fri_batch_envelope_1.json"


def meta(number, first, last):
    return envelope(number, first, last).batch


class BatchStoreMixin:
    """Subclasses set ``make_store()``, giving an empty store."""

    def make_store(self):
        raise NotImplementedError

    def test_provides_interface(self):
        """The store provides the interface."""
        self.assertTrue(verifyObject(IBatchStore, self.make_store()))

    def test_empty(self):
        """An empty store has no batch, no last batch and no batch for any block."""
        store = self.make_store()
        self.assertIsNone(store.batch(1))
        self.assertIsNone(store.last_batch())
        self.assertIsNone(store.batch_for_block(1))

    def test_put_and_read(self):
        """Stored batches read back equal; the last batch and block -> batch lookups follow."""
        store = self.make_store()
        batches = [meta(1, 1, 3), meta(2, 4, 4), meta(3, 5, 9)]
        for b in batches:
            store.put(b)
        self.assertEqual([store.batch(n) for n in (1, 2, 3)], batches)
        self.assertIsNone(store.batch(4))
        self.assertEqual(store.last_batch(), batches[-1])
        lookups = {n: store.batch_for_block(n) for n in range(0, 11)}
        self.assertEqual(
            lookups, {0: None, 1: 1, 2: 1, 3: 1, 4: 2, 5: 3, 6: 3, 7: 3, 8: 3, 9: 3, 10: None}
        )

    def test_first_batch_any_number(self):
        """The first stored batch may have any number and start anywhere (after a snapshot)."""
        store = self.make_store()
        store.put(meta(7, 50, 52))
        self.assertEqual(store.last_batch().number, 7)
        self.assertIsNone(store.batch_for_block(49))
        self.assertEqual(store.batch_for_block(50), 7)

    def test_identical_put_is_noop(self):
        """Putting a stored batch again, unchanged, does nothing."""
        store = self.make_store()
        store.put(meta(1, 1, 3))
        store.put(meta(2, 4, 5))
        store.put(meta(1, 1, 3))
        self.assertEqual(store.last_batch().number, 2)

    def test_refuses_changes_and_gaps(self):
        """A changed stored batch, a skipped number, a block gap or an empty range raise."""
        store = self.make_store()
        store.put(meta(1, 1, 3))
        for bad in (meta(1, 1, 4), meta(3, 4, 5), meta(2, 5, 6), meta(2, 4, 3)):
            self.assertRaises(BatchStoreError, store.put, bad)
        self.assertEqual(store.last_batch(), meta(1, 1, 3))


class MemoryBatchStoreTests(BatchStoreMixin, SynchronousTestCase):
    def make_store(self):
        return MemoryBatchStore()


class LMDBBatchStoreTests(BatchStoreMixin, SynchronousTestCase):
    def make_store(self):
        store = LMDBBatchStore(self.mktemp())
        self.addCleanup(store.close)
        return store

    def test_one_file_in_data_dir(self):
        """The store is one ``batches.lmdb`` file (plus LMDB's lock file) in the directory."""
        directory = Path(self.mktemp())
        store = LMDBBatchStore(directory)
        store.close()
        self.assertTrue((directory / FILE_NAME).is_file())

    def test_readonly_reader_beside_the_writer(self):
        """A read-only store in another process (an RPC worker) sees what the writer put;
        none is opened where the writer has not made the store yet."""
        directory = os.path.abspath(self.mktemp())
        self.assertRaises(lmdb.Error, LMDBBatchStore, directory, readonly=True)
        writer = LMDBBatchStore(directory)
        self.addCleanup(writer.close)
        writer.put(meta(1, 1, 3))
        writer.put(meta(2, 4, 6))
        script = (
            "import sys; from zkos_tw.batcher.batch_store import LMDBBatchStore as S; "
            "s = S(sys.argv[1], readonly=True); "
            "print(s.last_batch().number, s.batch_for_block(5), s.batch(1).last_block_number)"
        )
        out = subprocess.run(
            [sys.executable, "-c", script, directory], capture_output=True, text=True, check=True
        )
        self.assertEqual(out.stdout.split(), ["2", "2", "3"])

    def test_survives_reopen(self):
        """Batches are there after closing and re-opening the store."""
        directory = self.mktemp()
        store = LMDBBatchStore(directory)
        store.put(meta(1, 1, 3))
        store.put(meta(2, 4, 6))
        store.close()
        store = LMDBBatchStore(directory)
        self.addCleanup(store.close)
        self.assertEqual(store.last_batch(), meta(2, 4, 6))
        self.assertEqual(store.batch_for_block(5), 2)

    def test_corrupt_record(self):
        """A record that is not a V1 batch raises ``BatchStoreError`` naming the file and batch."""
        directory = Path(self.mktemp())
        store = LMDBBatchStore(directory)
        store.put(meta(1, 1, 3))
        store.close()
        env = lmdb.open(str(directory / FILE_NAME), subdir=False, max_dbs=2)
        batches = env.open_db(b"batches")  # outside the write txn: open_db takes its own
        with env.begin(write=True) as txn:
            txn.put((1).to_bytes(8, "big"), b'{"V1": {"tx_count": 1}}', db=batches)
        env.close()
        store = LMDBBatchStore(directory)
        self.addCleanup(store.close)
        error = self.assertRaises(BatchStoreError, store.batch, 1)
        self.assertIn(FILE_NAME, str(error))
        self.assertIn("batch 1", str(error))
        self.assertRaises(BatchStoreError, store.last_batch)

    def test_decoded_records_are_reused_until_the_bytes_change(self):
        """Reading a batch again gives the same decoded object (no second JSON decode); a
        record changed behind the store's back is decoded afresh."""
        directory = Path(self.mktemp())
        store = LMDBBatchStore(directory)
        self.addCleanup(store.close)
        store.put(meta(1, 1, 3))
        first = store.batch(1)
        self.assertEqual(first, meta(1, 1, 3))
        self.assertIs(store.batch(1), first)
        self.assertIs(store.last_batch(), first)
        # the same process cannot open the environment twice: write through the store's own
        with store._env.begin(write=True) as txn:
            txn.put((1).to_bytes(8, "big"), encode_batch(meta(1, 1, 4)), db=store._batches)
        self.assertEqual(store.batch(1), meta(1, 1, 4))


class RecordFormatTests(SynchronousTestCase):
    def test_golden_bytes(self):
        """A record is ``{"V2": <BatchMetadata>}`` with proof storage's JSON for the metadata
        (the proof-storage golden file's ``batch`` object) except ``operator_da_input``, which
        is 0x-hex."""
        golden = json.loads(GOLDEN.read_bytes())["V1"]["batch"]
        v2 = json.loads(json.dumps(golden))
        info = v2["commit_batch_info"]
        info["operator_da_input"] = "0x" + bytes(info["operator_da_input"]).hex()
        expected = b'{"V2":' + json.dumps(v2, separators=(",", ":")).encode() + b"}"
        self.assertEqual(encode_batch(golden_envelope().batch), expected)
        self.assertEqual(decode_batch(expected, "x"), golden_envelope().batch)

    def test_reads_v1(self):
        """A V1 record (``operator_da_input`` as an array of byte values, as older nodes wrote
        it) reads as the same batch."""
        golden = json.loads(GOLDEN.read_bytes())["V1"]["batch"]
        v1 = b'{"V1":' + json.dumps(golden, separators=(",", ":")).encode() + b"}"
        self.assertEqual(decode_batch(v1, "x"), golden_envelope().batch)

    def test_unknown_version_and_garbage(self):
        """Another version, non-JSON, a wrong shape and the wrong byte form are clear errors."""
        good = encode_batch(golden_envelope().batch)
        golden = json.loads(GOLDEN.read_bytes())["V1"]["batch"]
        v1 = b'{"V1":' + json.dumps(golden, separators=(",", ":")).encode() + b"}"
        cases = {
            good.replace(b'"V2"', b'"V3"', 1): "unknown batch record version 'V3'",
            b"\xff\x00": "not JSON",
            b"[1]": "not a versioned batch record",
            good.replace(b'"V2"', b'"V1"', 1): "corrupt V1 batch record",
            v1.replace(b'"V1"', b'"V2"', 1): "corrupt V2 batch record",
        }
        for data, message in cases.items():
            error = self.assertRaises(BatchStoreError, decode_batch, data, "rec")
            self.assertIn(message, str(error))
            self.assertTrue(str(error).startswith("rec: "))

    def test_metadata_roundtrip_changed_field(self):
        """A changed field survives the round trip (the codec is not a constant)."""
        changed = replace(golden_envelope().batch, tx_count=99)
        self.assertEqual(decode_batch(encode_batch(changed), "x").tx_count, 99)
