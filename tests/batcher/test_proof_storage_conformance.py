"""``IProofStorage`` conformance, bound to the file-backed and the in-memory storage: put/get,
overwrite, the latest batch, block -> batch lookup, and refusing an envelope without a proof."""

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.batcher.envelopes import envelope
from zkos_tw.batcher.info import BatchEnvelope
from zkos_tw.batcher.proof_storage import FileProofStorage
from zkos_tw.interfaces import IProofStorage
from zkos_tw.testing.memory_proof_storage import MemoryProofStorage


class ProofStorageMixin:
    """Subclasses set ``make_storage()``, giving an empty storage."""

    def make_storage(self):
        raise NotImplementedError

    def test_provides_interface(self):
        """The storage provides the interface."""
        self.assertTrue(verifyObject(IProofStorage, self.make_storage()))

    def test_empty(self):
        """An empty storage has no batch, no latest batch and no batch for any block."""
        storage = self.make_storage()
        self.assertIsNone(storage.get(1))
        self.assertIsNone(storage.latest_batch())
        self.assertIsNone(storage.batch_for_block(1))

    def test_put_get(self):
        """A stored envelope reads back equal, real or fake, without its stage times."""
        storage = self.make_storage()
        fake = envelope(1, 1, 3)
        real = envelope(2, 4, 4, fake=False)
        storage.put(BatchEnvelope(fake.batch, fake.fri_proof, {"BatchSealed": 1.0}))
        storage.put(real)
        self.assertEqual(storage.get(1), fake)
        self.assertEqual(storage.get(1).stage_times, {})
        self.assertEqual(storage.get(2), real)
        self.assertIsNone(storage.get(3))

    def test_overwrite(self):
        """Putting a batch again replaces it."""
        storage = self.make_storage()
        storage.put(envelope(1, 1, 3))
        storage.put(envelope(1, 1, 3, fake=False))
        self.assertEqual(storage.get(1), envelope(1, 1, 3, fake=False))
        self.assertEqual(storage.latest_batch(), 1)

    def test_latest_batch(self):
        """The latest batch is the highest stored, whatever the order of puts."""
        storage = self.make_storage()
        for number in (2, 5, 1):
            storage.put(envelope(number, number * 10, number * 10 + 9))
        self.assertEqual(storage.latest_batch(), 5)

    def test_batch_for_block(self):
        """Every block of every stored range maps to its batch; blocks outside map to None."""
        storage = self.make_storage()
        ranges = [(1, 1, 3), (2, 4, 4), (3, 5, 9), (4, 10, 12), (5, 13, 13)]
        for number, first, last in ranges:
            storage.put(envelope(number, first, last))
        for number, first, last in ranges:
            for block in range(first, last + 1):
                self.assertEqual(storage.batch_for_block(block), number, block)
        self.assertIsNone(storage.batch_for_block(0))
        self.assertIsNone(storage.batch_for_block(14))

    def test_put_without_proof_refused(self):
        """An envelope without a FRI proof is refused and nothing is stored."""
        storage = self.make_storage()
        self.assertRaises(ValueError, storage.put, BatchEnvelope(envelope(1, 1, 1).batch))
        self.assertIsNone(storage.get(1))
        self.assertIsNone(storage.latest_batch())


class FileProofStorageConformance(ProofStorageMixin, SynchronousTestCase):
    def make_storage(self):
        return FileProofStorage(self.mktemp())


class MemoryProofStorageConformance(ProofStorageMixin, SynchronousTestCase):
    def make_storage(self):
        return MemoryProofStorage()
