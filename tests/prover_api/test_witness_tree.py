"""``WitnessTree``: applying a block's writes to the witness alone gives the same root and leaf
count as the node's full ``MerkleTree``; a write outside the witness fails clearly."""

from twisted.trial.unittest import SynchronousTestCase

from tests.prover_api.test_prover_input import sample
from zkos_tw.merkle.tree import MerkleTree
from zkos_tw.prover_api import prover_input as pi
from zkos_tw.prover_api.witness_tree import WitnessTree
from zkos_tw.testing.memory_tree_store import MemoryTreeStore


def key(n: int) -> bytes:
    return n.to_bytes(32, "big")


def value(n: int) -> bytes:
    return n.to_bytes(32, "little")


class WitnessTreeTests(SynchronousTestCase):
    def setUp(self):
        self.store = MemoryTreeStore()
        self.tree = MerkleTree(self.store)
        self.store.write_patch(
            self.tree.apply(0, sorted((key(k), value(k)) for k in (10, 20, 30, 40, 50))).records
        )

    def check(self, writes, witness_keys=None):
        """The witness tree of ``witness_keys`` (default: the written keys) after ``writes``
        has the full tree's next version's root and leaf count."""
        keys = [k for k, _ in writes] if witness_keys is None else witness_keys
        block = pi.block_input_from_tree(
            self.tree,
            version=0,
            context=sample().blocks[0].context,
            previous_block_timestamp=0,
            transactions=[],
            read_keys=keys,
            preimages=[],
        )
        block.verify_witness()
        got = WitnessTree(block).apply(writes)
        patch = self.tree.apply(1, writes)
        self.assertEqual(got, (patch.root, patch.leaf_count))

    def test_updates_only(self):
        """Updating existing leaves gives the full tree's root."""
        self.check([(key(20), value(99)), (key(50), value(98))])

    def test_inserts_and_updates(self):
        """New keys (between, before and after old ones, some sharing a predecessor) append
        and thread into the list as the full tree does."""
        self.check(
            [
                (key(25), value(1)),
                (key(30), value(2)),
                (key(22), value(3)),
                (key(5), value(4)),
                (key(60), value(5)),
                (key(23), value(6)),
            ]
        )

    def test_many_inserts_cross_subtrees(self):
        """Enough appends to fill new subtrees to the right of the old leaves."""
        self.check([(key(1000 + 7 * i), value(i)) for i in range(40)])

    def test_write_outside_witness(self):
        """A write of a key the witness does not prove raises ``MissingWitness``."""
        block = pi.block_input_from_tree(
            self.tree,
            version=0,
            context=sample().blocks[0].context,
            previous_block_timestamp=0,
            transactions=[],
            read_keys=[key(20)],
            preimages=[],
        )
        with self.assertRaises(pi.MissingWitness) as raised:
            WitnessTree(block).apply([(key(21), value(1))])
        self.assertIn("writes key 0x", str(raised.exception))
        self.assertIn("not in the witness", str(raised.exception))
