"""``MemoryTreeStore`` keeps the ``ITreeStore`` contract."""

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from zkos_tw.interfaces import ITreeStore
from zkos_tw.testing.memory_tree_store import MemoryTreeStore


def _v(n):
    return n.to_bytes(8, "big")


class MemoryTreeStoreTests(SynchronousTestCase):
    """Exact reads, versioned reads and ordered scans."""

    def test_contract(self):
        """get / get_versioned / scan answer as the interface says."""
        store = MemoryTreeStore()
        self.assertTrue(verifyObject(ITreeStore, store))
        store.write_patch(
            [(b"La" + _v(5), b"five"), (b"La" + _v(2), b"two"), (b"Lb" + _v(3), b"b3")]
        )
        store.write_patch([(b"H", b"head"), (b"La" + _v(9), b"nine")])
        self.assertEqual(store.get(b"H"), b"head")
        self.assertIsNone(store.get(b"X"))
        self.assertIsNone(store.get_versioned(b"La", 1))
        self.assertEqual(store.get_versioned(b"La", 2), b"two")
        self.assertEqual(store.get_versioned(b"La", 8), b"five")
        self.assertEqual(store.get_versioned(b"La", 2**64 - 1), b"nine")
        self.assertIsNone(store.get_versioned(b"Lc", 9))
        self.assertEqual([v for _, v in store.scan(b"L")], [b"two", b"five", b"nine", b"b3"])
        self.assertEqual(list(store.scan(b"Z")), [])
        self.assertEqual(len(store), 5)
