"""Durable block storage: one LMDB environment per data directory, one write transaction per block.

``LMDBStorage`` implements ``zkos_tw.interfaces.IBlockStorage``; ``BlockWrite`` is what the block
sink hands it. ``zkos_tw.testing.memory_storage.MemoryStorage`` is the in-memory twin. Layouts
and formats: ``zkos_tw.storage.codecs`` and ``docs/storage.md``.
"""

from zkos_tw.storage.errors import BlockNotFound, StorageError
from zkos_tw.storage.lmdb_storage import DEFAULT_MAP_SIZE, LMDBStorage
from zkos_tw.storage.records import (
    ROLE_CALLED,
    ROLE_CREATED,
    ROLE_LOG,
    ROLE_SENDER,
    ROLE_TO,
    AddressIndexWrite,
    Appearance,
    BlockWrite,
    ContractCreation,
    LogWrite,
    StoredBlock,
    TxLocation,
    TxWrite,
)
from zkos_tw.storage.views import LMDBPreimages, LMDBStateAtBlock, LMDBTreeStore

__all__ = [
    "ROLE_CALLED",
    "ROLE_CREATED",
    "ROLE_LOG",
    "ROLE_SENDER",
    "ROLE_TO",
    "AddressIndexWrite",
    "Appearance",
    "ContractCreation",
    "BlockNotFound",
    "BlockWrite",
    "DEFAULT_MAP_SIZE",
    "LMDBPreimages",
    "LMDBStateAtBlock",
    "LMDBStorage",
    "LMDBTreeStore",
    "LogWrite",
    "StorageError",
    "StoredBlock",
    "TxLocation",
    "TxWrite",
]
