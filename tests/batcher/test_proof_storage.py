"""The proof-storage file format and ``FileProofStorage``'s files: golden bytes, the legacy and
fake proof forms, unknown versions and corrupt files, atomic writes and reopening."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.batcher.envelopes import envelope, golden_envelope
from zkos_tw.batcher.info import BatchEnvelope, Proof
from zkos_tw.batcher.proof_storage import (
    BUCKET,
    FileProofStorage,
    ProofStorageError,
    decode_envelope,
    encode_envelope,
    key_for,
)

GOLDEN = Path(__file__).parent / "golden" / "fri_batch_envelope_1.json"


class CodecTests(SynchronousTestCase):
    """``encode_envelope`` / ``decode_envelope``."""

    def test_golden_bytes(self):
        """The codec writes exactly the hand-written golden file and reads it back."""
        golden = GOLDEN.read_bytes()
        self.assertEqual(encode_envelope(golden_envelope()), golden)
        self.assertEqual(decode_envelope(golden), golden_envelope())

    def test_fake_proof(self):
        """A fake proof is the string ``"Fake"`` and reads back as fake."""
        fake = envelope(3, 1, 2)
        obj = json.loads(encode_envelope(fake))
        self.assertEqual(obj["V1"]["data"], "Fake")
        self.assertEqual(decode_envelope(encode_envelope(fake)), fake)

    def test_legacy_real_proof(self):
        """A legacy ``{"Real": [bytes]}`` proof reads with proving execution version 2."""
        obj = json.loads(GOLDEN.read_bytes())
        obj["V1"]["data"] = {"Real": [1, 2]}
        decoded = decode_envelope(json.dumps(obj).encode())
        self.assertEqual(decoded.fri_proof, Proof(False, b"\x01\x02", 2))

    def test_missing_execution_version(self):
        """A batch without ``execution_version`` reads as version 1."""
        obj = json.loads(GOLDEN.read_bytes())
        del obj["V1"]["batch"]["execution_version"]
        self.assertEqual(decode_envelope(json.dumps(obj).encode()).batch.execution_version, 1)

    def test_stored_timestamp_optional(self):
        """The previous batch's ``last_block_timestamp`` (an unused ``Option`` in the reference)
        reads as 0 when null or absent."""
        for absent in (False, True):
            obj = json.loads(GOLDEN.read_bytes())
            info = obj["V1"]["batch"]["previous_stored_batch_info"]
            if absent:
                del info["last_block_timestamp"]
            else:
                info["last_block_timestamp"] = None
            decoded = decode_envelope(json.dumps(obj).encode())
            self.assertEqual(decoded.batch.previous_stored_batch_info.last_block_timestamp, 0)

    def test_upgrade_tx_hash(self):
        """An upgrade tx hash is written as hex and read back."""
        base = golden_envelope()
        commit = base.batch.commit_batch_info
        upgraded = replace(
            base,
            batch=replace(
                base.batch, commit_batch_info=replace(commit, upgrade_tx_hash=b"\x42" * 32)
            ),
        )
        data = encode_envelope(upgraded)
        self.assertIn(b'"upgrade_tx_hash":"0x' + b"42" * 32 + b'"', data)
        self.assertEqual(decode_envelope(data), upgraded)

    def test_unknown_version(self):
        """Another version tag is refused, naming the file and the version."""
        obj = json.loads(GOLDEN.read_bytes())
        data = json.dumps({"V2": obj["V1"]}).encode()
        e = self.assertRaises(ProofStorageError, decode_envelope, data, "/x/f.json")
        self.assertIn("/x/f.json", str(e))
        self.assertIn("V2", str(e))

    def test_corrupt(self):
        """Truncated JSON, a non-envelope and a bad field are each a ProofStorageError."""
        golden = GOLDEN.read_bytes()
        obj = json.loads(golden)
        obj["V1"]["batch"]["commit_batch_info"]["da_commitment"] = "dd"
        for data in (golden[:-10], b"[]", b"\xff", json.dumps(obj).encode()):
            e = self.assertRaises(ProofStorageError, decode_envelope, data, "f.json")
            self.assertIn("f.json", str(e))

    def test_no_proof_refused(self):
        """An envelope without a FRI proof cannot be encoded."""
        self.assertRaises(ValueError, encode_envelope, BatchEnvelope(golden_envelope().batch))


class FileProofStorageTests(SynchronousTestCase):
    """The directory behind ``FileProofStorage``."""

    def setUp(self):
        self.base = Path(self.mktemp())
        self.storage = FileProofStorage(self.base)

    def test_layout(self):
        """An envelope is stored as ``<base>/fri_batch_envelopes/fri_batch_envelope_N.json``
        holding the codec's bytes, and nothing else is left in the directory."""
        self.storage.put(golden_envelope())
        path = self.base / BUCKET / key_for(1)
        self.assertEqual(self.storage.path_for(1), path)
        self.assertEqual(path.read_bytes(), GOLDEN.read_bytes())
        self.assertEqual(os.listdir(self.base / BUCKET), ["fri_batch_envelope_1.json"])

    def test_reopen(self):
        """A storage opened on the same base sees what was stored; stray files are ignored."""
        for number in (1, 2, 3):
            self.storage.put(envelope(number, number, number))
        directory = self.base / BUCKET
        (directory / ".fri_batch_envelope_4.json.99.tmp").write_bytes(b'{"V1": {"ba')
        (directory / "fri_batch_envelope_07.json").write_bytes(b"")
        (directory / "notes.txt").write_bytes(b"")
        reopened = FileProofStorage(self.base)
        self.assertEqual(reopened.latest_batch(), 3)
        self.assertEqual(reopened.get(2), envelope(2, 2, 2))
        self.assertEqual(reopened.batch_for_block(3), 3)

    def test_golden_file_read(self):
        """A hand-written file dropped in the directory is read."""
        (self.base / BUCKET / key_for(1)).write_bytes(GOLDEN.read_bytes())
        self.assertEqual(FileProofStorage(self.base).get(1), golden_envelope())

    def test_corrupt_file_named(self):
        """A corrupt stored file raises ProofStorageError naming its path."""
        path = self.base / BUCKET / key_for(5)
        path.write_bytes(b'{"V1": {"batch"')
        e = self.assertRaises(ProofStorageError, self.storage.get, 5)
        self.assertIn(str(path), str(e))

    def test_wrong_batch_in_file(self):
        """A file holding another batch than its name says is refused."""
        (self.base / BUCKET / key_for(9)).write_bytes(GOLDEN.read_bytes())
        e = self.assertRaises(ProofStorageError, self.storage.get, 9)
        self.assertIn("holds batch 1", str(e))

    def test_failed_write_leaves_old_file(self):
        """A write that fails before the rename leaves the old envelope and no temporary file."""
        self.storage.put(envelope(1, 1, 1))

        def broken_fsync(fd):
            raise OSError("disk gone")

        self.patch(os, "fsync", broken_fsync)
        self.assertRaises(OSError, self.storage.put, envelope(1, 1, 1, fake=False))
        self.assertEqual(os.listdir(self.base / BUCKET), ["fri_batch_envelope_1.json"])
        self.assertEqual(self.storage.get(1), envelope(1, 1, 1))

    def test_fsyncs_file_and_directory(self):
        """``put`` fsyncs the temporary file and then the directory."""
        synced = []
        real_fsync = os.fsync

        def recording_fsync(fd):
            synced.append(os.path.isdir(f"/proc/self/fd/{fd}"))
            real_fsync(fd)

        self.patch(os, "fsync", recording_fsync)
        self.storage.put(envelope(1, 1, 1))
        self.assertEqual(synced, [False, True])
