"""Witness readers: the node records what a block reads, the proofs go in the prover input, and
a ``FlatState`` over the witness alone reads the same values or fails clearly."""

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.prover_api.test_prover_input import sample
from zkos_tw.hashing import blake2s256
from zkos_tw.interfaces import IPreimages, IStateReader
from zkos_tw.merkle.tree import MerkleTree
from zkos_tw.prover_api import prover_input as pi
from zkos_tw.prover_api.witness import (
    RecordingPreimages,
    RecordingReader,
    WitnessPreimages,
    WitnessReader,
)
from zkos_tw.state.keys import flat_key
from zkos_tw.state.view import FlatState
from zkos_tw.testing.memory_tree_store import MemoryTreeStore

ADDRESS = b"\xaa" * 20
SLOT5 = flat_key(ADDRESS, (5).to_bytes(32, "big"))
SLOT6 = flat_key(ADDRESS, (6).to_bytes(32, "big"))


class DictReader:
    """A pre-block state as a dict (test double)."""

    def __init__(self, values):
        self.values = values

    def read(self, key):
        return self.values.get(key)


class NoPreimages:
    def get(self, hash):
        return None


class WitnessTests(SynchronousTestCase):
    def setUp(self):
        value = (42).to_bytes(32, "big")
        self.tree = MerkleTree(MemoryTreeStore())
        self.tree.apply(0, sorted([(SLOT5, value)]))
        self.reader = RecordingReader(DictReader({SLOT5: value}))
        self.preimages = RecordingPreimages(NoPreimages())

    def block_input(self, keys, preimages=()):
        return pi.block_input_from_tree(
            self.tree,
            version=0,
            context=sample().blocks[0].context,
            previous_block_timestamp=0,
            transactions=[],
            read_keys=keys,
            preimages=preimages,
        )

    def test_interfaces(self):
        block = self.block_input([SLOT5])
        verifyObject(IStateReader, self.reader)
        verifyObject(IPreimages, self.preimages)
        verifyObject(IStateReader, WitnessReader(block))
        verifyObject(IPreimages, WitnessPreimages(block))

    def test_record_then_replay(self):
        """What the node's execution read, a witness-only state reads back the same."""
        node = FlatState(self.reader, self.preimages)
        self.assertEqual(node.get_storage(ADDRESS, 5), 42)
        self.assertEqual(self.reader.keys, {SLOT5})
        block = pi.decode(pi.encode(pi.ProverInput(1, (self.block_input(self.reader.keys),))))
        worker = FlatState(WitnessReader(block.blocks[0]), WitnessPreimages(block.blocks[0]))
        self.assertEqual(worker.get_storage(ADDRESS, 5), 42)

    def test_slot_missing_from_witness(self):
        """Re-execution that reads a slot outside the witness fails with a clear error."""
        block = self.block_input([SLOT5])
        worker = FlatState(WitnessReader(block), WitnessPreimages(block))
        with self.assertRaisesRegex(pi.MissingWitness, "not in the witness"):
            worker.get_storage(ADDRESS, 6)

    def test_absent_slot_witnessed(self):
        """A slot proven absent reads as zero."""
        block = self.block_input([SLOT5, SLOT6])
        worker = FlatState(WitnessReader(block), WitnessPreimages(block))
        self.assertEqual(worker.get_storage(ADDRESS, 6), 0)

    def test_preimages(self):
        code = b"\x60\x00"
        block = self.block_input([], preimages=[(blake2s256(code), code)])
        self.assertEqual(WitnessPreimages(block).get(blake2s256(code)), code)
        with self.assertRaisesRegex(pi.MissingWitness, "preimage 0x00"):
            WitnessPreimages(block).get(b"\0" * 32)
        wrong = self.block_input([], preimages=[(b"\1" * 32, code)])
        with self.assertRaisesRegex(pi.ProverInputError, "does not hash to it"):
            WitnessPreimages(wrong)
