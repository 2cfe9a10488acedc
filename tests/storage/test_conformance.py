"""The ``IBlockStorage`` conformance suite bound to LMDB storage and to the in-memory storage."""

from twisted.trial.unittest import TestCase

from tests.storage.conformance import BlockStorageConformance
from zkos_tw.storage import LMDBStorage
from zkos_tw.testing.memory_storage import MemoryStorage


class LMDBStorageConformanceTests(BlockStorageConformance, TestCase):
    """``LMDBStorage`` in a temporary directory meets the ``IBlockStorage`` contract."""

    def make_storage(self):
        """A new LMDB storage in a temporary directory, with a small map (it grows)."""
        storage = LMDBStorage(self.mktemp(), map_size=1 << 20)
        self.addCleanup(storage.close)
        return storage


class MemoryStorageConformanceTests(BlockStorageConformance, TestCase):
    """``MemoryStorage`` meets the ``IBlockStorage`` contract."""

    def make_storage(self):
        """A new in-memory storage."""
        return MemoryStorage()
