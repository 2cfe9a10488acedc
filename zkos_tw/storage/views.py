"""Read views over ``LMDBStorage`` for the state and tree code: the state at a block
(``IStateAtBlock`` / ``IStateReader``), the preimages (``IPreimages``) and the tree records
(``ITreeStore``).

They hold no transaction: every call is one short read transaction, so a view may be kept as
long as its owner likes and blocks may be written (and the map grown) meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from zope.interface import implementer

from zkos_tw.interfaces import IPreimages, IStateAtBlock, IStateReader, ITreeStore
from zkos_tw.storage import codecs as c
from zkos_tw.storage.errors import StorageError

if TYPE_CHECKING:
    from zkos_tw.storage.lmdb_storage import LMDBStorage


@implementer(IStateAtBlock, IStateReader)
class LMDBStateAtBlock:
    """The flat state right after one block, read from the ``state`` history database."""

    def __init__(self, storage: LMDBStorage, block_number: int) -> None:
        self._storage = storage
        self.block_number = block_number

    def read(self, key: bytes) -> bytes | None:
        """The value the newest block ``<= block_number`` wrote under ``key``, or ``None``."""
        if not isinstance(key, bytes) or len(key) != 32:
            raise StorageError("state keys are 32 bytes")
        raw = self._storage._newest_at_most(c.STATE_DB, key, self.block_number)
        return None if raw is None else c.decode_state_value(raw)


@implementer(IPreimages)
class LMDBPreimages:
    """The ``preimages`` database as an ``IPreimages``."""

    def __init__(self, storage: LMDBStorage) -> None:
        self._storage = storage

    def get(self, hash: bytes) -> bytes | None:
        """The preimage of ``hash``, or ``None``."""
        return self._storage.preimage(hash)


@implementer(ITreeStore)
class LMDBTreeStore:
    """The ``tree`` database as an ``ITreeStore`` (the tree's records, unwrapped)."""

    def __init__(self, storage: LMDBStorage) -> None:
        self._storage = storage

    def get(self, key: bytes) -> bytes | None:
        """The record stored under ``key``, or ``None``."""
        return self._storage.tree_node(key)

    def get_versioned(self, prefix: bytes, version: int) -> bytes | None:
        """The record ``prefix || u64be(v)`` with the greatest ``v <= version``, or ``None``."""
        raw = self._storage._newest_at_most(c.TREE_DB, prefix, version)
        return None if raw is None else c.decode_envelope(raw, "tree node")

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, record)`` whose key starts with ``prefix``, ascending."""
        for key, raw in self._storage._scan(c.TREE_DB, prefix):
            yield key, c.decode_envelope(raw, "tree node")
