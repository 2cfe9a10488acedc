"""Block storage in one LMDB environment per data directory: one write transaction per block.

``LMDBStorage(path)`` opens (or creates) the environment, checks the schema version and that
every database agrees on the last block, and then serves ``IBlockStorage``. A block is written in
a single LMDB write transaction, so after a crash at any instant (kill -9 included) it is either
wholly there or not at all. LMDB's default durable commits are kept (no ``sync=False``): a commit
that returned is on disk.

The map starts at ``map_size`` (1 GiB by default) and doubles when a write finds it full; the
write is then retried. Key layouts and value formats are in ``zkos_tw.storage.codecs`` and
``docs/storage.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import lmdb
from zope.interface import implementer

from zkos_tw.interfaces import IBlockStorage
from zkos_tw.storage import codecs as c
from zkos_tw.storage.errors import BlockNotFound, StorageError
from zkos_tw.storage.gate import Gate
from zkos_tw.storage.records import (
    Appearance,
    BlockWrite,
    ContractCreation,
    LogWrite,
    StoredBlock,
    TxLocation,
)
from zkos_tw.storage.views import LMDBPreimages, LMDBStateAtBlock, LMDBTreeStore

DEFAULT_MAP_SIZE = 1 << 30
MAX_MAP_SIZE = 1 << 40
#: WAL records read per read transaction by ``replay_from_wal`` (short transactions, so a
#: replay callback may write blocks and the map may grow meanwhile).
REPLAY_CHUNK = 64
#: Records read per read transaction by a scan.
SCAN_CHUNK = 256


@implementer(IBlockStorage)
class LMDBStorage:
    """``IBlockStorage`` over an LMDB environment in the directory ``path``.

    ``readonly=True`` opens an existing environment for reading only (for example from an API
    process beside the sequencer); it never creates anything. ``map_size`` is the initial map
    size in bytes; ``max_map_size`` bounds the growth.
    """

    def __init__(
        self,
        path: str,
        *,
        map_size: int = DEFAULT_MAP_SIZE,
        max_map_size: int = MAX_MAP_SIZE,
        readonly: bool = False,
    ) -> None:
        self.path = path
        self.readonly = readonly
        self._max_map_size = max_map_size
        self._gate = Gate()
        if readonly and not os.path.exists(os.path.join(path, "data.mdb")):
            raise StorageError(f"data directory {path} holds no storage")
        try:
            self._env = lmdb.open(
                path,
                map_size=map_size,
                max_dbs=len(c.ALL_DBS),
                readonly=readonly,
                readahead=False,
                max_spare_txns=4,
            )
        except lmdb.Error as e:
            raise StorageError(f"data directory {path} cannot be opened as storage: {e}") from e
        try:
            # Reader slots left by killed processes would pin old pages; free them.
            self._env.reader_check()
            self._dbs = self._open_databases()
            self._check()
        except BaseException:
            self._env.close()
            raise

    # -- opening ---------------------------------------------------------------------------

    def _open_databases(self) -> dict[bytes, Any]:
        """Open (creating when writable) the named databases; write the schema when new."""
        try:
            self._check_main_database()
            if self.readonly:
                dbs = {
                    name: self._env.open_db(name, create=False)
                    for name in c.ALL_DBS
                    if name not in c.LATER_DBS
                }
                for name in c.LATER_DBS:
                    try:
                        dbs[name] = self._env.open_db(name, create=False)
                    except lmdb.NotFoundError:
                        pass  # made before this database existed: read as empty
                with self._env.begin() as txn:
                    self._check_schema(txn, dbs)
                return dbs
            with self._env.begin(write=True) as txn:
                dbs = {name: self._env.open_db(name, txn=txn) for name in c.ALL_DBS}
                self._check_schema(txn, dbs)
            return dbs
        except lmdb.NotFoundError as e:
            raise StorageError(
                f"data directory {self.path} is not zkos-tw storage (no database {e})"
            ) from e
        except lmdb.Error as e:
            raise StorageError(f"data directory {self.path} is not usable storage: {e}") from e

    def _check_main_database(self) -> None:
        """The unnamed database holds only our named databases (else it is someone else's)."""
        with self._env.begin() as txn:
            for key in txn.cursor().iternext(values=False):
                if key not in c.ALL_DBS:
                    raise StorageError(
                        f"data directory {self.path} is not zkos-tw storage "
                        f"(it holds the key {key[:40]!r})"
                    )

    def _check_schema(self, txn: Any, dbs: dict[bytes, Any]) -> None:
        raw = txn.get(c.SCHEMA_KEY, db=dbs[c.META_DB])
        if raw is None:
            holds_data = any(txn.stat(db)["entries"] for db in dbs.values())
            if holds_data:
                raise StorageError(
                    f"data directory {self.path} holds data but no schema version "
                    "(corrupt, or not zkos-tw storage)"
                )
            if self.readonly:
                raise StorageError(f"data directory {self.path} holds no storage")
            txn.put(c.SCHEMA_KEY, c.encode_schema_v1(c.SCHEMA_VERSION), db=dbs[c.META_DB])
            return
        try:
            version = c.decode_schema(raw)
        except StorageError as e:
            raise StorageError(f"data directory {self.path}: {e}") from e
        if version != c.SCHEMA_VERSION:
            raise StorageError(
                f"data directory {self.path} has schema version {version}, "
                f"this node reads version {c.SCHEMA_VERSION}"
            )

    def _check(self) -> None:
        """Every database agrees on the last block, and the data matches ``meta``."""
        with self._reading() as txn:
            lasts = {name: self._meta_last(txn, name) for name in c.BLOCK_DBS}
            if len(set(lasts.values())) != 1:
                listing = ", ".join(f"{n.decode()}={v}" for n, v in lasts.items())
                raise StorageError(
                    f"data directory {self.path} is corrupt: the databases disagree on the last "
                    f"block ({listing}); one write transaction updates them all"
                )
            last = lasts[c.WAL_DB]
            found = {
                c.WAL_DB: self._last_key_block(txn, c.WAL_DB, b""),
                c.REPOSITORY_DB: self._last_key_block(txn, c.REPOSITORY_DB, c.REPO_BLOCK),
            }
            for name, number in found.items():
                if number != last:
                    raise StorageError(
                        f"data directory {self.path} is corrupt: meta says the last block is "
                        f"{last} but {name.decode()} ends at {number}"
                    )

    def _meta_last(self, txn: Any, name: bytes) -> int | None:
        raw = txn.get(c.last_block_key(name), db=self._dbs[c.META_DB])
        return None if raw is None else c.decode_number(raw, "last block")

    def _last_key_block(self, txn: Any, name: bytes, prefix: bytes) -> int | None:
        """The block number in the last key with ``prefix`` + u64 in database ``name``."""
        cursor = txn.cursor(db=self._dbs[name])
        if prefix:
            found = cursor.set_range(prefix + b"\xff" * 8)
            if found and cursor.key() == prefix + b"\xff" * 8:
                return c.key_block(cursor.key()[len(prefix) :])
            found = cursor.prev() if found else cursor.last()
        else:
            found = cursor.last()
        if not found or not cursor.key().startswith(prefix):
            return None
        return c.key_block(cursor.key()[len(prefix) :])

    # -- transactions and map size ---------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """A read transaction, inside the gate; adopts a map another process has grown."""
        self._gate.enter()
        try:
            try:
                txn = self._env.begin()
            except lmdb.MapResizedError:
                self._gate.leave()
                try:
                    with self._gate.exclusive():
                        self._env.set_mapsize(0)
                finally:
                    self._gate.enter()
                txn = self._env.begin()
            try:
                yield txn
            finally:
                txn.abort()
        finally:
            self._gate.leave()

    def _grow(self) -> None:
        """Double the map (no transaction may be open in this process meanwhile)."""
        with self._gate.exclusive():
            size = self._env.info()["map_size"]
            if size >= self._max_map_size:
                raise StorageError(
                    f"data directory {self.path} is full: the map reached its limit of "
                    f"{self._max_map_size} bytes"
                )
            self._env.set_mapsize(min(size * 2, self._max_map_size))

    def map_size(self) -> int:
        """The current map size in bytes."""
        return int(self._env.info()["map_size"])

    def used_bytes(self) -> int:
        """Bytes of the map in use (pages up to the last one written)."""
        info = self._env.info()
        return int((info["last_pgno"] + 1) * self._env.stat()["psize"])

    def last_blocks(self) -> dict[str, int | None]:
        """The last block ``meta`` records for each block database (they are always equal)."""
        with self._reading() as txn:
            return {name.decode(): self._meta_last(txn, name) for name in c.BLOCK_DBS}

    def raw_items(self, db_name: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, stored value)`` of one database, in key order (for checks and tools)."""
        return self._scan(db_name, b"")

    def page_bytes(self) -> dict[str, int]:
        """Bytes in the B-tree pages (branch, leaf, overflow) of each named database."""
        with self._reading() as txn:
            result = {}
            for name in self._dbs:
                stat = txn.stat(self._dbs[name])
                pages = stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]
                result[name.decode()] = pages * stat["psize"]
            return result

    def entries(self) -> dict[str, int]:
        """The number of entries in each named database."""
        with self._reading() as txn:
            return {name.decode(): txn.stat(db)["entries"] for name, db in self._dbs.items()}

    # -- writing ---------------------------------------------------------------------------

    def write_block(self, block_write: BlockWrite) -> None:
        """Persist ``block_write`` in one write transaction (see ``IBlockStorage``)."""
        if not isinstance(block_write, BlockWrite):
            raise StorageError("write_block takes a BlockWrite")
        if self.readonly:
            raise StorageError(f"data directory {self.path} is open read-only")
        block_write.check_unique()
        puts = _puts(block_write)
        while True:
            try:
                with self._gate.shared():
                    self._write(block_write, puts)
                return
            except lmdb.MapFullError:
                self._grow()
            except lmdb.MapResizedError:
                with self._gate.exclusive():
                    self._env.set_mapsize(0)

    def _write(self, bw: BlockWrite, puts: dict[bytes, list[tuple[bytes, bytes]]]) -> None:
        wal, repo = self._dbs[c.WAL_DB], self._dbs[c.REPOSITORY_DB]
        txn = self._env.begin(write=True)
        try:
            last = self._meta_last(txn, c.WAL_DB)
            if last is not None and bw.number <= last:
                stored = txn.get(c.block_key(bw.number), db=wal)
                if stored is None:
                    raise StorageError(f"block {bw.number} is older than the first stored block")
                if c.decode_envelope(stored, "WAL") != bw.wal_record:
                    raise StorageError(
                        f"block {bw.number} is already stored with a different WAL record"
                    )
                txn.abort()
                return
            if last is not None and bw.number != last + 1:
                raise StorageError(f"block {bw.number} does not follow the last block {last}")
            # One C call looks every transaction up (``getmulti`` returns the keys it found).
            location = c.REPO_TX_LOCATION
            found = txn.cursor(db=repo).getmulti([location + tx.tx_hash for tx in bw.transactions])
            if found:
                raise StorageError(
                    f"transaction 0x{found[0][0][len(location) :].hex()} of block {bw.number} "
                    "is already stored"
                )
            if txn.get(c.REPO_HASH + bw.block_hash, db=repo) is not None:
                raise StorageError(f"block hash 0x{bw.block_hash.hex()} is already stored")
            for name, items in puts.items():
                if items:
                    txn.cursor(db=self._dbs[name]).putmulti(items)
            number = c.encode_number_v1(bw.number)
            meta = self._dbs[c.META_DB]
            for name in c.BLOCK_DBS:
                txn.put(c.last_block_key(name), number, db=meta)
            txn.commit()
        except BaseException:
            txn.abort()
            raise

    # -- reading ---------------------------------------------------------------------------

    def last_block(self) -> int | None:
        """The newest stored block number, or ``None``."""
        with self._reading() as txn:
            return self._meta_last(txn, c.WAL_DB)

    def first_block(self) -> int | None:
        """The oldest stored block number, or ``None``."""
        with self._reading() as txn:
            cursor = txn.cursor(db=self._dbs[c.WAL_DB])
            return c.key_block(cursor.key()) if cursor.first() else None

    def state_at(self, block_number: int) -> LMDBStateAtBlock:
        """The state right after ``block_number``; ``BlockNotFound`` if that block is not stored."""
        with self._reading() as txn:
            present = txn.get(c.block_key(block_number), db=self._dbs[c.WAL_DB]) is not None
        if not present:
            raise BlockNotFound(f"block {block_number} is not stored")
        return LMDBStateAtBlock(self, block_number)

    def _newest_at_most(self, name: bytes, prefix: bytes, number: int) -> bytes | None:
        """The value of the key ``prefix || u64be(n)`` with the greatest ``n <= number``.

        One ``set_range`` and at most a step back: the keys of one prefix sort by ``n``. Keys
        that start with ``prefix`` but are longer than ``prefix`` + 8 bytes are skipped.
        """
        seek = prefix + c.block_key(number)
        size = len(seek)
        with self._reading() as txn:
            cursor = txn.cursor(db=self._dbs[name])
            if cursor.set_range(seek):
                if cursor.key() == seek:
                    return cursor.value()
                found = cursor.prev()
            else:
                found = cursor.last()
            while found:
                key = cursor.key()
                if not key.startswith(prefix):
                    return None
                if len(key) == size:
                    return cursor.value()
                found = cursor.prev()
            return None

    def _scan(self, name: bytes, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, raw value)`` of database ``name`` whose key starts with ``prefix``,
        ascending, read ``SCAN_CHUNK`` at a time (no transaction is held between chunks)."""
        seek = prefix
        while True:
            with self._reading() as txn:
                cursor = txn.cursor(db=self._dbs[name])
                chunk = []
                found = cursor.set_range(seek)
                while found and len(chunk) < SCAN_CHUNK:
                    key = cursor.key()
                    if not key.startswith(prefix):
                        found = False
                        break
                    chunk.append((key, cursor.value()))
                    found = cursor.next()
            yield from chunk
            if not found:
                return
            seek = chunk[-1][0] + b"\x00"

    def preimage_store(self) -> LMDBPreimages:
        """The preimages as an ``IPreimages``."""
        return LMDBPreimages(self)

    def tree_store(self) -> LMDBTreeStore:
        """The tree records as an ``ITreeStore``."""
        return LMDBTreeStore(self)

    def _get(self, name: bytes, key: bytes) -> bytes | None:
        db = self._dbs.get(name)
        if db is None:
            return None
        with self._reading() as txn:
            return txn.get(key, db=db)

    def preimage(self, digest: bytes) -> bytes | None:
        """The preimage of ``digest``, or ``None``."""
        raw = self._get(c.PREIMAGES_DB, digest)
        return None if raw is None else c.decode_envelope(raw, "preimage")

    def block(self, block_number: int) -> StoredBlock | None:
        """The stored block with that number, or ``None``."""
        raw = self._get(c.REPOSITORY_DB, c.REPO_BLOCK + c.block_key(block_number))
        return None if raw is None else c.decode_block(block_number, raw)

    def block_number_by_hash(self, block_hash: bytes) -> int | None:
        """The number of the block with that hash, or ``None``."""
        raw = self._get(c.REPOSITORY_DB, c.REPO_HASH + block_hash)
        return None if raw is None else c.decode_number(raw, "block number")

    def transaction(self, tx_hash: bytes) -> bytes | None:
        """The EIP-2718 bytes of the transaction, or ``None``."""
        raw = self._get(c.REPOSITORY_DB, c.REPO_TX + tx_hash)
        return None if raw is None else c.decode_envelope(raw, "transaction")

    def tx_location(self, tx_hash: bytes) -> TxLocation | None:
        """Where the transaction is, or ``None``."""
        raw = self._get(c.REPOSITORY_DB, c.REPO_TX_LOCATION + tx_hash)
        return None if raw is None else c.decode_tx_location(raw)

    def receipt(self, tx_hash: bytes) -> bytes | None:
        """The encoded receipt of the transaction, or ``None``."""
        raw = self._get(c.REPOSITORY_DB, c.REPO_RECEIPT + tx_hash)
        return None if raw is None else c.decode_envelope(raw, "receipt")

    def logs(self, block_number: int) -> tuple[LogWrite, ...] | None:
        """The block's logs, or ``None`` when the block is absent."""
        raw = self._get(c.REPOSITORY_DB, c.REPO_LOGS + c.block_key(block_number))
        return None if raw is None else c.decode_logs(raw)

    def block_pubdata(self, block_number: int) -> bytes | None:
        """The block's pubdata, or ``None`` (no such block, or stored without pubdata)."""
        raw = self._get(c.PUBDATA_DB, c.block_key(block_number))
        return None if raw is None else c.decode_envelope(raw, "pubdata")

    def wal_record(self, block_number: int) -> bytes | None:
        """The WAL record of the block, or ``None``."""
        raw = self._get(c.WAL_DB, c.block_key(block_number))
        return None if raw is None else c.decode_envelope(raw, "WAL")

    def replay_from_wal(self, start: int, fn: Callable[[int, bytes], object]) -> int:
        """Call ``fn(number, wal_record)`` for each stored block from ``start`` on; return the count.

        Records are read in chunks of ``REPLAY_CHUNK`` per short read transaction, and ``fn`` runs
        outside any transaction, so it may write to this storage.
        """
        count = 0
        seek = c.block_key(start)
        while True:
            with self._reading() as txn:
                cursor = txn.cursor(db=self._dbs[c.WAL_DB])
                chunk = []
                found = cursor.set_range(seek)
                while found and len(chunk) < REPLAY_CHUNK:
                    chunk.append((c.key_block(cursor.key()), cursor.value()))
                    found = cursor.next()
            if not chunk:
                return count
            for number, raw in chunk:
                fn(number, c.decode_envelope(raw, "WAL"))
                count += 1
            seek = c.block_key(chunk[-1][0] + 1)

    def tree_node(self, node_key: bytes) -> bytes | None:
        """The tree node stored under ``node_key``, or ``None``."""
        raw = self._get(c.TREE_DB, node_key)
        return None if raw is None else c.decode_envelope(raw, "tree node")

    # -- address index ---------------------------------------------------------------------

    def address_history(
        self, address: bytes, block_number: int | None, *, descending: bool, min_count: int
    ) -> tuple[tuple[Appearance, ...], bool]:
        """The appearances of ``address`` in blocks before ``block_number`` (``descending``,
        newest first) or after it (ascending, oldest first); ``None`` starts at the newest
        (descending) or oldest (ascending) block, inclusive. At least ``min_count`` entries unless
        the history ends, then the rest of the last block reached (blocks are never split).
        Returns the entries and whether the history ends with them. One read transaction."""
        db = self._dbs.get(c.ADDRESS_INDEX_DB)
        if db is None:
            return (), True
        prefix = c.appearance_prefix(address)
        found: list[Appearance] = []
        with self._reading() as txn:
            cursor = txn.cursor(db=db)
            if descending:
                seek = prefix + (
                    b"\xff" * 12 if block_number is None else c.block_key(block_number)
                )
                more = cursor.set_range(seek)
                more = cursor.prev() if more else cursor.last()
                step = cursor.prev
            else:
                if block_number is None:
                    seek = prefix
                else:
                    seek = prefix + c.block_key(block_number) + b"\xff" * 4
                more = cursor.set_range(seek)
                step = cursor.next
            while more:
                key = cursor.key()
                if not key.startswith(prefix):
                    more = False
                    break
                entry = c.decode_appearance(key, cursor.value())
                if len(found) >= min_count and entry.block_number != found[-1].block_number:
                    break
                found.append(entry)
                more = step()
        return tuple(found), not more

    def tx_by_sender_and_nonce(self, sender: bytes, nonce: int) -> bytes | None:
        """The hash of the transaction ``sender`` sent with account nonce ``nonce``, or ``None``."""
        raw = self._get(c.ADDRESS_INDEX_DB, c.sender_nonce_key(sender, nonce))
        return None if raw is None else c.decode_tx_hash(raw)

    def contract_creation(self, contract: bytes) -> ContractCreation | None:
        """Who made ``contract`` (the latest creation the index knows), or ``None``."""
        raw = self._get(c.ADDRESS_INDEX_DB, c.creation_key(contract))
        return None if raw is None else c.decode_creation(raw)

    def close(self) -> None:
        """Close the environment."""
        self._env.close()

    def __enter__(self) -> LMDBStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _puts(bw: BlockWrite) -> dict[bytes, list[tuple[bytes, bytes]]]:
    """Every key/value ``bw`` writes, per database, encoded before the transaction starts."""
    number_key = c.block_key(bw.number)
    location, tx_key, receipt_key = c.REPO_TX_LOCATION, c.REPO_TX, c.REPO_RECEIPT
    v1 = c.encode_envelope_v1(b"")
    pack_location = c.tx_location_packer(bw.number)
    repo = [
        (
            c.REPO_BLOCK + number_key,
            c.encode_block_v1(
                StoredBlock(
                    bw.number,
                    bw.block_hash,
                    tuple(tx.tx_hash for tx in bw.transactions),
                    bw.block_record,
                )
            ),
        ),
        (c.REPO_HASH + bw.block_hash, c.encode_number_v1(bw.number)),
        (c.REPO_LOGS + number_key, c.encode_logs_v1(bw.logs)),
    ]
    # The codecs inlined (format byte + payload; the golden tests pin the bytes): this runs
    # three times per transaction and once per state write when a block is stored.
    append = repo.append
    for index, tx in enumerate(bw.transactions):
        tx_hash = tx.tx_hash
        append((location + tx_hash, pack_location(index)))
        append((tx_key + tx_hash, v1 + tx.raw))
        append((receipt_key + tx_hash, v1 + tx.receipt))
    state_suffix = c.block_key(bw.number)
    state_v1 = c.encode_state_value_v1(b"")
    return {
        c.WAL_DB: [(number_key, c.encode_envelope_v1(bw.wal_record))],
        c.REPOSITORY_DB: repo,
        c.STATE_DB: [(key + state_suffix, state_v1 + value) for key, value in bw.state_writes],
        c.PREIMAGES_DB: [(h, v1 + p) for h, p in bw.preimages],
        c.TREE_DB: [(k, v1 + v) for k, v in bw.tree_patch],
        c.PUBDATA_DB: [(number_key, c.encode_envelope_v1(bw.pubdata))] if bw.pubdata else [],
        c.ADDRESS_INDEX_DB: _index_puts(bw),
    }


def _index_puts(bw: BlockWrite) -> list[tuple[bytes, bytes]]:
    """The address index entries of ``bw`` (see ``AddressIndexWrite``)."""
    puts = []
    append = puts.append
    # ``c.appearance_key(address, number, tx_index)``, its tail packed once per transaction.
    prefix, block, pack = c.INDEX_APPEARANCE, c.block_key(bw.number), c.U32.pack
    roles_v1 = c.ROLES_V1
    tx_hash_v1 = c.encode_tx_hash_v1(b"")
    for entry in bw.address_index:
        tail = block + pack(entry.tx_index)
        for address, roles in entry.appearances:
            append((prefix + address + tail, roles_v1[roles]))
        if entry.sender_nonce is not None:
            append((c.sender_nonce_key(*entry.sender_nonce), tx_hash_v1 + entry.tx_hash))
        for contract, creator in entry.creations:
            puts.append(
                (
                    c.creation_key(contract),
                    c.encode_creation_v1(ContractCreation(entry.tx_hash, creator)),
                )
            )
    return puts
