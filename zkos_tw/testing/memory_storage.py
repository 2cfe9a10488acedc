"""``MemoryStorage``: ``IBlockStorage`` in dictionaries, for tests and development nodes.

It keeps the same rules as ``zkos_tw.storage.LMDBStorage`` (ordered blocks, idempotent
re-writes, all-or-nothing writes, the same errors) and is held to them by the same conformance
tests (``tests/storage/conformance.py``). Nothing survives the process.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable, Iterator

from zope.interface import implementer

from zkos_tw.interfaces import IBlockStorage, IPreimages, IStateAtBlock, IStateReader, ITreeStore
from zkos_tw.storage.errors import BlockNotFound, StorageError
from zkos_tw.storage.records import (
    Appearance,
    BlockWrite,
    ContractCreation,
    LogWrite,
    StoredBlock,
    TxLocation,
)


@implementer(IStateAtBlock, IStateReader)
class MemoryStateAtBlock:
    """The flat state right after one block of a ``MemoryStorage``."""

    def __init__(self, storage: MemoryStorage, block_number: int) -> None:
        self._storage = storage
        self.block_number = block_number

    def read(self, key: bytes) -> bytes | None:
        """The value the newest block ``<= block_number`` wrote under ``key``, or ``None``."""
        if not isinstance(key, bytes) or len(key) != 32:
            raise StorageError("state keys are 32 bytes")
        history = self._storage._state.get(key)
        if not history:
            return None
        numbers, values = history
        at = bisect.bisect_right(numbers, self.block_number)
        return values[at - 1] if at else None


@implementer(IPreimages)
class MemoryPreimages:
    """The preimages of a ``MemoryStorage`` as an ``IPreimages``."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage

    def get(self, hash: bytes) -> bytes | None:
        """The preimage of ``hash``, or ``None``."""
        return self._storage.preimage(hash)


@implementer(ITreeStore)
class MemoryTreeRecords:
    """The tree records of a ``MemoryStorage`` as an ``ITreeStore``."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage

    def get(self, key: bytes) -> bytes | None:
        """The record stored under ``key``, or ``None``."""
        return self._storage.tree_node(key)

    def get_versioned(self, prefix: bytes, version: int) -> bytes | None:
        """The record ``prefix || u64be(v)`` with the greatest ``v <= version``, or ``None``."""
        keys, tree = self._storage._tree_keys, self._storage._tree
        at = bisect.bisect_right(keys, prefix + struct.pack(">Q", version))
        size = len(prefix) + 8
        while at > 0 and keys[at - 1].startswith(prefix):
            at -= 1
            if len(keys[at]) == size:
                return tree[keys[at]]
        return None

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, record)`` whose key starts with ``prefix``, ascending."""
        keys, tree = self._storage._tree_keys, self._storage._tree
        at = bisect.bisect_left(keys, prefix)
        while at < len(keys) and keys[at].startswith(prefix):
            yield keys[at], tree[keys[at]]
            at += 1


@implementer(IBlockStorage)
class MemoryStorage:
    """``IBlockStorage`` held in memory."""

    def __init__(self) -> None:
        self._wal: dict[int, bytes] = {}
        self._blocks: dict[int, StoredBlock] = {}
        self._hashes: dict[bytes, int] = {}
        self._txs: dict[bytes, tuple[TxLocation, bytes, bytes]] = {}
        self._logs: dict[int, tuple[LogWrite, ...]] = {}
        self._pubdata: dict[int, bytes] = {}
        # flat key -> ([block numbers ascending], [values])
        self._state: dict[bytes, tuple[list[int], list[bytes]]] = {}
        self._preimages: dict[bytes, bytes] = {}
        self._tree: dict[bytes, bytes] = {}
        self._tree_keys: list[bytes] = []  # the keys of _tree, sorted
        # address -> [(block, tx index, roles)] ascending
        self._appearances: dict[bytes, list[tuple[int, int, int]]] = {}
        self._sender_nonces: dict[tuple[bytes, int], bytes] = {}
        self._creations: dict[bytes, ContractCreation] = {}
        self._first: int | None = None
        self._last: int | None = None
        self._closed = False

    def _open(self) -> None:
        if self._closed:
            raise StorageError("storage is closed")

    def write_block(self, block_write: BlockWrite) -> None:
        """Persist ``block_write`` (in memory), all or nothing."""
        self._open()
        bw = block_write
        if not isinstance(bw, BlockWrite):
            raise StorageError("write_block takes a BlockWrite")
        bw.check_unique()
        last = self._last
        if last is not None and bw.number <= last:
            stored = self._wal.get(bw.number)
            if stored is None:
                raise StorageError(f"block {bw.number} is older than the first stored block")
            if stored != bw.wal_record:
                raise StorageError(
                    f"block {bw.number} is already stored with a different WAL record"
                )
            return
        if last is not None and bw.number != last + 1:
            raise StorageError(f"block {bw.number} does not follow the last block {last}")
        for tx in bw.transactions:
            if tx.tx_hash in self._txs:
                raise StorageError(
                    f"transaction 0x{tx.tx_hash.hex()} of block {bw.number} is already stored"
                )
        if bw.block_hash in self._hashes:
            raise StorageError(f"block hash 0x{bw.block_hash.hex()} is already stored")
        # Nothing below can fail: the write is all or nothing.
        self._wal[bw.number] = bw.wal_record
        tx_hashes = tuple(tx.tx_hash for tx in bw.transactions)
        self._blocks[bw.number] = StoredBlock(bw.number, bw.block_hash, tx_hashes, bw.block_record)
        self._hashes[bw.block_hash] = bw.number
        for index, tx in enumerate(bw.transactions):
            self._txs[tx.tx_hash] = (TxLocation(bw.number, index), tx.raw, tx.receipt)
        self._logs[bw.number] = bw.logs
        if bw.pubdata:
            self._pubdata[bw.number] = bw.pubdata
        for key, value in bw.state_writes:
            numbers, values = self._state.setdefault(key, ([], []))
            numbers.append(bw.number)
            values.append(value)
        self._preimages.update(bw.preimages)
        for key, node in bw.tree_patch:
            if key not in self._tree:
                bisect.insort(self._tree_keys, key)
            self._tree[key] = node
        for entry in bw.address_index:
            for address, roles in entry.appearances:
                self._appearances.setdefault(address, []).append((bw.number, entry.tx_index, roles))
            if entry.sender_nonce is not None:
                self._sender_nonces[entry.sender_nonce] = entry.tx_hash
            for contract, creator in entry.creations:
                self._creations[contract] = ContractCreation(entry.tx_hash, creator)
        if self._first is None:
            self._first = bw.number
        self._last = bw.number

    def last_block(self) -> int | None:
        """The newest stored block number, or ``None``."""
        self._open()
        return self._last

    def first_block(self) -> int | None:
        """The oldest stored block number, or ``None``."""
        self._open()
        return self._first

    def state_at(self, block_number: int) -> MemoryStateAtBlock:
        """The state right after ``block_number``; ``BlockNotFound`` if that block is not stored."""
        self._open()
        if block_number not in self._wal:
            raise BlockNotFound(f"block {block_number} is not stored")
        return MemoryStateAtBlock(self, block_number)

    def preimage(self, digest: bytes) -> bytes | None:
        """The preimage of ``digest``, or ``None``."""
        self._open()
        return self._preimages.get(digest)

    def block(self, block_number: int) -> StoredBlock | None:
        """The stored block with that number, or ``None``."""
        self._open()
        return self._blocks.get(block_number)

    def block_number_by_hash(self, block_hash: bytes) -> int | None:
        """The number of the block with that hash, or ``None``."""
        self._open()
        return self._hashes.get(block_hash)

    def transaction(self, tx_hash: bytes) -> bytes | None:
        """The EIP-2718 bytes of the transaction, or ``None``."""
        self._open()
        entry = self._txs.get(tx_hash)
        return None if entry is None else entry[1]

    def tx_location(self, tx_hash: bytes) -> TxLocation | None:
        """Where the transaction is, or ``None``."""
        self._open()
        entry = self._txs.get(tx_hash)
        return None if entry is None else entry[0]

    def receipt(self, tx_hash: bytes) -> bytes | None:
        """The encoded receipt of the transaction, or ``None``."""
        self._open()
        entry = self._txs.get(tx_hash)
        return None if entry is None else entry[2]

    def logs(self, block_number: int) -> tuple[LogWrite, ...] | None:
        """The block's logs, or ``None`` when the block is absent."""
        self._open()
        return self._logs.get(block_number)

    def block_pubdata(self, block_number: int) -> bytes | None:
        """The block's pubdata, or ``None`` (no such block, or stored without pubdata)."""
        self._open()
        return self._pubdata.get(block_number)

    def wal_record(self, block_number: int) -> bytes | None:
        """The WAL record of the block, or ``None``."""
        self._open()
        return self._wal.get(block_number)

    def replay_from_wal(self, start: int, fn: Callable[[int, bytes], object]) -> int:
        """Call ``fn(number, wal_record)`` for each stored block from ``start`` on; return the count."""
        self._open()
        count = 0
        number = max(start, self._first) if self._first is not None else start
        while self._last is not None and number <= self._last:
            fn(number, self._wal[number])
            count += 1
            number += 1
        return count

    def tree_node(self, node_key: bytes) -> bytes | None:
        """The tree node stored under ``node_key``, or ``None``."""
        self._open()
        return self._tree.get(node_key)

    def address_history(
        self, address: bytes, block_number: int | None, *, descending: bool, min_count: int
    ) -> tuple[tuple[Appearance, ...], bool]:
        """The appearances of ``address`` before / after ``block_number`` (see ``LMDBStorage``)."""
        self._open()
        history = self._appearances.get(address, [])
        if descending:
            end = (
                len(history)
                if block_number is None
                else bisect.bisect_left(history, (block_number, -1, -1))
            )
            candidates = history[:end][::-1]
        else:
            start = (
                0
                if block_number is None
                else bisect.bisect_left(history, (block_number + 1, -1, -1))
            )
            candidates = history[start:]
        found: list[Appearance] = []
        for number, tx_index, roles in candidates:
            if len(found) >= min_count and number != found[-1].block_number:
                return tuple(found), False
            found.append(Appearance(number, tx_index, roles))
        return tuple(found), True

    def tx_by_sender_and_nonce(self, sender: bytes, nonce: int) -> bytes | None:
        """The hash of the transaction ``sender`` sent with ``nonce``, or ``None``."""
        self._open()
        return self._sender_nonces.get((sender, nonce))

    def contract_creation(self, contract: bytes) -> ContractCreation | None:
        """Who made ``contract``, or ``None``."""
        self._open()
        return self._creations.get(contract)

    def preimage_store(self) -> MemoryPreimages:
        """The preimages as an ``IPreimages``."""
        return MemoryPreimages(self)

    def tree_store(self) -> MemoryTreeRecords:
        """The tree records as an ``ITreeStore``."""
        return MemoryTreeRecords(self)

    def close(self) -> None:
        """Forget nothing, but refuse further calls (as a closed LMDB environment would)."""
        self._closed = True
