"""The batch store: every sealed batch's block range and ``BatchMetadata``, in its own LMDB file.

The batcher persists a batch here before it hands the batch downstream, so after a restart it
knows where the next batch starts (``last_batch().last_block_number + 1``) and which sealed batches
still need proving. The store is one small LMDB environment, ``batches.lmdb`` (a single file, no
sub-directory) in the chain data directory, apart from the block storage so that its map size and
fsyncs do not touch the block path. Two named databases:

* ``batches``: key = batch number (8 bytes, big-endian), value = ``{"V2": BatchMetadata JSON}``
  with the JSON keys of proof storage (``zkos_tw.batcher.proof_storage.metadata_to_json``)
  except ``operator_da_input``, a 0x-hex string instead of an array of byte values (encoding and
  decoding a batch's ~100 KB of pubdata as an array cost ~17 ms of the GIL per batch; as hex,
  under 1 ms). V1 records (the array form) written by older nodes are still read;
* ``last_blocks``: key = the batch's last block number (8 bytes, big-endian), value = the batch
  number (8 bytes), so ``batch_for_block`` is one cursor seek.

Each ``put`` is one LMDB write transaction (both databases or neither), synced on commit. Batches
are stored gaplessly: the first any number, then ``last + 1`` starting right after the last one's
last block; putting an identical record again does nothing. See ``docs/batcher.md``.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict

import lmdb
from zope.interface import implementer

from zkos_tw.batcher.info import BatchMetadata
from zkos_tw.batcher.proof_storage import metadata_from_json, metadata_to_json
from zkos_tw.interfaces import IBatchStore

FILE_NAME = "batches.lmdb"
VERSION = 2
#: versions this node reads: V1 holds ``operator_da_input`` as an array of byte values
READABLE = ("V1", "V2")
#: decoded records kept per store (they never change once stored)
CACHE_SIZE = 64
MAP_SIZE = 1 << 30
_BATCHES = b"batches"
_LAST_BLOCKS = b"last_blocks"


class BatchStoreError(Exception):
    """A stored batch that cannot be read, or a write that would leave a gap or change history."""


def _key(number: int) -> bytes:
    return number.to_bytes(8, "big")


def encode_batch(meta: BatchMetadata) -> bytes:
    """The stored bytes of ``meta``: compact V2 JSON."""
    body = metadata_to_json(meta, byte_arrays=False)
    return json.dumps({f"V{VERSION}": body}, separators=(",", ":")).encode()


def decode_batch(data: bytes, name: str) -> BatchMetadata:
    """The ``BatchMetadata`` stored as ``data``; ``BatchStoreError`` naming ``name`` otherwise."""
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        raise BatchStoreError(f"{name}: not JSON: {e}") from e
    if not isinstance(obj, dict) or len(obj) != 1:
        raise BatchStoreError(f"{name}: not a versioned batch record (one key such as 'V1')")
    (tag,) = obj
    if tag not in READABLE:
        raise BatchStoreError(
            f"{name}: unknown batch record version {tag!r} (this node reads V1 and V2)"
        )
    try:
        return metadata_from_json(obj[tag], byte_arrays=tag == "V1")
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise BatchStoreError(f"{name}: corrupt {tag} batch record: {e!r}") from e


def check_successor(previous: BatchMetadata | None, meta: BatchMetadata) -> None:
    """``BatchStoreError`` unless ``meta`` may follow ``previous`` (shared by the stores)."""
    if meta.first_block_number > meta.last_block_number:
        raise BatchStoreError(
            f"batch {meta.number}: empty block range "
            f"{meta.first_block_number}..={meta.last_block_number}"
        )
    if previous is None:
        return
    if meta.number != previous.number + 1:
        raise BatchStoreError(f"batch {meta.number} does not follow stored batch {previous.number}")
    if meta.first_block_number != previous.last_block_number + 1:
        raise BatchStoreError(
            f"batch {meta.number} starts at block {meta.first_block_number}, "
            f"not {previous.last_block_number + 1}"
        )


@implementer(IBatchStore)
class LMDBBatchStore:
    """Batches in ``<directory>/batches.lmdb`` (created if missing).

    ``readonly=True`` opens an existing store for reading only (an RPC worker process beside
    the node); it raises ``lmdb.Error`` when there is none yet."""

    def __init__(
        self, directory: str | os.PathLike, *, map_size: int = MAP_SIZE, readonly: bool = False
    ) -> None:
        #: number -> (stored bytes, decoded record), most recently used last
        self._cache: OrderedDict[int, tuple[bytes, BatchMetadata]] = OrderedDict()
        self._cache_lock = threading.Lock()  # the batcher's thread and the reactor both read
        self.path = os.path.join(os.fspath(directory), FILE_NAME)
        if readonly:
            self._env = lmdb.open(
                self.path, subdir=False, map_size=map_size, max_dbs=2, readonly=True
            )
            self._batches = self._env.open_db(_BATCHES, create=False)
            self._last_blocks = self._env.open_db(_LAST_BLOCKS, create=False)
            return
        os.makedirs(directory, exist_ok=True)
        self._env = lmdb.open(self.path, subdir=False, map_size=map_size, max_dbs=2)
        self._batches = self._env.open_db(_BATCHES)
        self._last_blocks = self._env.open_db(_LAST_BLOCKS)

    def _decode(self, number: int, raw: bytes) -> BatchMetadata:
        # A stored batch never changes (``put`` refuses a different record), so the decoded
        # record is reused: the L1 watcher and the batcher ask for the same few batches often.
        with self._cache_lock:
            cached = self._cache.get(number)
            if cached is not None and cached[0] == raw:
                self._cache.move_to_end(number)
                return cached[1]
        meta = decode_batch(raw, f"{self.path} batch {number}")
        if meta.number != number:
            raise BatchStoreError(f"{self.path} batch {number}: holds batch {meta.number}")
        self._remember(number, raw, meta)
        return meta

    def _remember(self, number: int, raw: bytes, meta: BatchMetadata) -> None:
        with self._cache_lock:
            self._cache[number] = (raw, meta)
            self._cache.move_to_end(number)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def put(self, meta: BatchMetadata) -> None:
        """Store ``meta`` durably; identical again is a no-op, a gap or a change raises."""
        with self._env.begin(write=True) as txn:
            existing = txn.get(_key(meta.number), db=self._batches)
            if existing is not None:
                if self._decode(meta.number, existing) != meta:
                    raise BatchStoreError(f"batch {meta.number} is already stored, differently")
                return
            check_successor(self._last(txn), meta)
            raw = encode_batch(meta)
            txn.put(_key(meta.number), raw, db=self._batches)
            txn.put(_key(meta.last_block_number), _key(meta.number), db=self._last_blocks)
        self._remember(meta.number, raw, meta)

    def batch(self, number: int) -> BatchMetadata | None:
        """The stored batch ``number``, or ``None``."""
        with self._env.begin() as txn:
            raw = txn.get(_key(number), db=self._batches)
            return None if raw is None else self._decode(number, raw)

    def _last(self, txn) -> BatchMetadata | None:
        cursor = txn.cursor(db=self._batches)
        if not cursor.last():
            return None
        return self._decode(int.from_bytes(cursor.key(), "big"), cursor.value())

    def last_batch(self) -> BatchMetadata | None:
        """The highest stored batch, or ``None``."""
        with self._env.begin() as txn:
            return self._last(txn)

    def batch_for_block(self, block_number: int) -> int | None:
        """The number of the stored batch holding ``block_number``, or ``None``."""
        with self._env.begin() as txn:
            cursor = txn.cursor(db=self._last_blocks)
            if not cursor.set_range(_key(block_number)):
                return None
            number = int.from_bytes(cursor.value(), "big")
            raw = txn.get(_key(number), db=self._batches)
            if raw is None:
                raise BatchStoreError(f"{self.path}: block index names missing batch {number}")
            meta = self._decode(number, raw)
            return number if meta.first_block_number <= block_number else None

    def close(self) -> None:
        """Close the environment; nothing may be called afterwards."""
        self._env.close()
