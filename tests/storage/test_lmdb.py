"""What only the LMDB storage does: persistence across reopen, the schema and consistency checks
at open, map growth, read-only opening, and the durable environment flags.

These tests use real LMDB files in trial's temporary directory; some edit the files with raw
``lmdb`` to play the part of a newer node or of corruption.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import replace

import lmdb
from twisted.trial.unittest import TestCase

from tests.fixtures import REPO_ROOT
from tests.storage.blocks import SHARED_ADDRESSES, check_block, make_block, own_address
from zkos_tw.storage import LMDBStorage, StorageError
from zkos_tw.storage import codecs as c

SMALL = 64 * 1024


@contextmanager
def raw_env(path):
    """The environment at ``path`` opened with plain ``lmdb`` (the storage must be closed)."""
    env = lmdb.open(path, max_dbs=len(c.ALL_DBS), map_size=1 << 26)
    try:
        yield env, {name: env.open_db(name) for name in c.ALL_DBS}
    finally:
        env.close()


class LMDBTestCase(TestCase):
    """Helpers: a data directory and storages on it that are closed after the test."""

    def setUp(self):
        self.path = os.path.abspath(self.mktemp())

    def open(self, **kwargs) -> LMDBStorage:
        """Open the data directory; it is closed after the test."""
        storage = LMDBStorage(self.path, **kwargs)
        self.addCleanup(lambda: storage._env.close())
        return storage

    def written(self, *numbers: int) -> None:
        """Write blocks ``numbers`` to the data directory and close it."""
        storage = LMDBStorage(self.path)
        for number in numbers:
            storage.write_block(make_block(number))
        storage.close()


class OpenTests(LMDBTestCase):
    """Opening a data directory."""

    def test_new_directory(self):
        """A new directory is created with every database and the schema version."""
        storage = self.open()
        self.assertIsNone(storage.last_block())
        self.assertEqual(
            storage.entries(),
            {
                "block_replay_wal": 0,
                "repository": 0,
                "state": 0,
                "preimages": 0,
                "tree": 0,
                "meta": 1,
                "pubdata": 0,
                "address_index": 0,
            },
        )
        storage.close()
        with raw_env(self.path) as (env, dbs), env.begin() as txn:
            self.assertEqual(
                txn.get(b"schema_version", db=dbs[c.META_DB]), bytes.fromhex("0100000001")
            )

    def test_blocks_survive_reopen(self):
        """Blocks written and closed are all there after reopening."""
        self.written(0, 1, 2, 3)
        storage = self.open()
        self.assertEqual(storage.last_block(), 3)
        self.assertEqual(
            storage.last_blocks(),
            dict.fromkeys(["block_replay_wal", "repository", "state", "preimages", "tree"], 3),
        )
        for number in range(4):
            check_block(storage, number)
        storage.write_block(make_block(4))
        check_block(storage, 4)

    def test_directory_without_pubdata_database(self):
        """A directory made before the pubdata database opens: read-only reads no pubdata, a
        writable open creates the database and keeps the old blocks."""
        self.written(0, 1)
        with raw_env(self.path) as (env, dbs), env.begin(write=True) as txn:
            txn.drop(dbs[c.PUBDATA_DB], delete=True)
        env = lmdb.open(self.path, max_dbs=len(c.ALL_DBS), readonly=True)
        with env.begin() as txn:
            names = set(txn.cursor().iternext(values=False))
        env.close()
        self.assertEqual(names, set(c.ALL_DBS) - {c.PUBDATA_DB})
        reader = self.open(readonly=True)
        self.assertIsNone(reader.block_pubdata(1))
        self.assertNotIn("pubdata", reader.entries())
        reader.close()
        storage = self.open()
        self.assertEqual(storage.entries()["pubdata"], 0)
        check_block(storage, 1)
        storage.write_block(replace(make_block(2), pubdata=b"\x01" * 40))
        self.assertEqual(storage.block_pubdata(2), b"\x01" * 40)
        self.assertIsNone(storage.block_pubdata(1))
        storage.close()
        self.assertEqual(self.open(readonly=True).block_pubdata(2), b"\x01" * 40)

    def test_directory_without_address_index(self):
        """A directory made before the address index opens: read-only answers an empty history,
        a writable open creates the database; blocks written from then on are indexed, older
        ones are not (they are not re-indexed)."""
        self.written(0, 1)
        with raw_env(self.path) as (env, dbs), env.begin(write=True) as txn:
            txn.drop(dbs[c.ADDRESS_INDEX_DB], delete=True)
        sender = SHARED_ADDRESSES[0]
        reader = self.open(readonly=True)
        self.assertEqual(reader.address_history(sender, None, descending=True, min_count=5),
                         ((), True))  # fmt: skip
        self.assertIsNone(reader.tx_by_sender_and_nonce(sender, 3))
        self.assertIsNone(reader.contract_creation(own_address(0, 0)))
        reader.close()
        storage = self.open()
        self.assertEqual(storage.entries()["address_index"], 0)
        storage.write_block(make_block(2))
        check_block(storage, 2)
        found, ends = storage.address_history(sender, None, descending=True, min_count=5)
        self.assertEqual({a.block_number for a in found}, {2})
        self.assertTrue(ends)
        storage.close()

    def test_durable_flags(self):
        """The environment commits durably: sync and metasync on, no write map."""
        flags = self.open()._env.flags()
        self.assertTrue(flags["sync"])
        self.assertTrue(flags["metasync"])
        self.assertFalse(flags["writemap"])
        self.assertFalse(flags["map_async"])

    def test_newer_schema_refused(self):
        """A directory written with another schema version is refused with one clear line."""
        self.written(0)
        with raw_env(self.path) as (env, dbs), env.begin(write=True) as txn:
            txn.put(b"schema_version", c.encode_schema_v1(7), db=dbs[c.META_DB])
        e = self.assertRaises(StorageError, LMDBStorage, self.path)
        self.assertEqual(
            str(e), f"data directory {self.path} has schema version 7, this node reads version 1"
        )

    def test_unknown_schema_format_refused(self):
        """A schema record of an unknown format is refused, naming the directory."""
        self.written(0)
        with raw_env(self.path) as (env, dbs), env.begin(write=True) as txn:
            txn.put(b"schema_version", b"\x05\x00", db=dbs[c.META_DB])
        e = self.assertRaises(StorageError, LMDBStorage, self.path)
        self.assertIn(self.path, str(e))
        self.assertIn("format version 5", str(e))

    def test_data_without_schema_refused(self):
        """Data with no schema version is refused as corrupt."""
        self.written(0)
        with raw_env(self.path) as (env, dbs), env.begin(write=True) as txn:
            txn.delete(b"schema_version", db=dbs[c.META_DB])
        e = self.assertRaises(StorageError, LMDBStorage, self.path)
        self.assertIn("no schema version", str(e))

    def test_disagreeing_databases_refused(self):
        """Databases whose last blocks disagree in meta are refused as corrupt."""
        self.written(0, 1)
        with raw_env(self.path) as (env, dbs), env.begin(write=True) as txn:
            txn.put(c.last_block_key(c.TREE_DB), c.encode_number_v1(0), db=dbs[c.META_DB])
        e = self.assertRaises(StorageError, LMDBStorage, self.path)
        self.assertIn("disagree on the last block", str(e))
        self.assertIn("tree=0", str(e))
        self.assertIn("block_replay_wal=1", str(e))

    def test_data_beyond_meta_refused(self):
        """A WAL or repository that ends elsewhere than meta says is refused as corrupt."""
        self.written(0, 1)
        with raw_env(self.path) as (env, dbs), env.begin(write=True) as txn:
            txn.delete(c.block_key(1), db=dbs[c.WAL_DB])
        e = self.assertRaises(StorageError, LMDBStorage, self.path)
        self.assertIn("meta says the last block is 1 but block_replay_wal ends at 0", str(e))

    def test_not_lmdb_refused(self):
        """A directory whose data file is not LMDB is refused, naming the directory."""
        os.makedirs(self.path)
        with open(os.path.join(self.path, "data.mdb"), "wb") as f:
            f.write(b"this is not an LMDB file" * 1000)
        e = self.assertRaises(StorageError, LMDBStorage, self.path)
        self.assertIn(self.path, str(e))

    def test_foreign_lmdb_refused(self):
        """An LMDB environment that is not zkos-tw storage is refused."""
        env = lmdb.open(self.path)
        with env.begin(write=True) as txn:
            txn.put(b"hello", b"world")
        env.close()
        e = self.assertRaises(StorageError, LMDBStorage, self.path)
        self.assertIn(self.path, str(e))

    def test_corrupt_value_reported(self):
        """A stored value of an unknown format is reported when read."""
        self.written(0)
        key = make_block(0).state_writes[0][0]
        with raw_env(self.path) as (env, dbs), env.begin(write=True) as txn:
            txn.put(c.state_key(key, 0), b"\x02" + bytes(32), db=dbs[c.STATE_DB])
        storage = self.open()
        e = self.assertRaises(StorageError, storage.state_at(0).read, key)
        self.assertIn("state value record has format version 2", str(e))


class ReadOnlyTests(LMDBTestCase):
    """``readonly=True`` opening."""

    def test_missing_directory(self):
        """A read-only open of a directory without storage is refused and creates nothing."""
        e = self.assertRaises(StorageError, LMDBStorage, self.path, readonly=True)
        self.assertEqual(str(e), f"data directory {self.path} holds no storage")
        self.assertFalse(os.path.exists(self.path))

    def test_reads_but_does_not_write(self):
        """A read-only storage reads every block and refuses writes."""
        self.written(0, 1)
        storage = self.open(readonly=True)
        check_block(storage, 1)
        e = self.assertRaises(StorageError, storage.write_block, make_block(2))
        self.assertIn("read-only", str(e))


class MapGrowthTests(LMDBTestCase):
    """The map grows when a write finds it full."""

    def test_grows_and_keeps_everything(self):
        """Writes beyond a small map double it as often as needed; every block stays whole."""
        storage = self.open(map_size=SMALL)
        for number in range(60):
            storage.write_block(make_block(number))
        self.assertGreater(storage.map_size(), SMALL)
        self.assertGreater(storage.used_bytes(), SMALL)
        for number in range(60):
            check_block(storage, number)

    def test_block_larger_than_map(self):
        """One block several times the map size is written after repeated growth."""
        storage = self.open(map_size=SMALL)
        big = tuple((bytes([i]) * 32, os.urandom(50_000)) for i in range(8))
        bw = make_block(0)
        storage.write_block(
            type(bw)(bw.number, bw.block_hash, bw.wal_record, bw.block_record, preimages=big)
        )
        self.assertGreaterEqual(storage.map_size(), 8 * SMALL)
        self.assertEqual(storage.preimage(bytes([3]) * 32), big[3][1])

    def test_growth_limit(self):
        """At ``max_map_size`` a write is refused with a clear error and nothing of it is kept."""
        storage = self.open(map_size=SMALL, max_map_size=2 * SMALL)
        storage.write_block(make_block(0))
        big = ((b"\x01" * 32, os.urandom(4 * SMALL)),)
        bw = make_block(1)
        e = self.assertRaises(
            StorageError,
            storage.write_block,
            type(bw)(1, bw.block_hash, bw.wal_record, bw.block_record, preimages=big),
        )
        self.assertIn("is full", str(e))
        self.assertEqual(storage.last_block(), 0)
        self.assertIsNone(storage.preimage(b"\x01" * 32))
        storage.write_block(make_block(1))
        check_block(storage, 1)

    def test_adopts_map_grown_by_another_process(self):
        """A storage open while another process grows the map adopts the new size and reads on."""
        storage = self.open(map_size=SMALL)
        storage.write_block(make_block(0))
        subprocess.run(
            [sys.executable, "-m", "tests.storage.crash_writer", self.path, "150"],
            cwd=REPO_ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )
        self.assertEqual(storage.last_block(), 150)
        self.assertGreater(storage.map_size(), SMALL)
        check_block(storage, 150)
        storage.write_block(make_block(151))
        check_block(storage, 151)
