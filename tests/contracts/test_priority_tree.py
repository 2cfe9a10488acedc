"""The node's priority tree (``zkos_tw.priority_tree``) against the L1 contract's own check on a
real anvil: its root is the contract's, and batches executed with its range proofs — trimmed and
restored from a snapshot between them, as the node does across executions and restarts — are
accepted."""

from __future__ import annotations

from tests.contracts import model
from tests.contracts.harness import L1ContractsTestCase
from zkos_tw.priority_tree import PriorityTree, PriorityTreeSnapshot


class PriorityTreeOnL1Tests(L1ContractsTestCase):
    def test_roots_and_executions(self):
        """Seven priority transactions over four batches (1, 0, 2, 4 L1 txs)."""
        for _ in range(6):
            self.deposit()
        tree = PriorityTree()
        tree.extend(self.l1_hashes)
        self.assertEqual(tree.root(), self.chain_view("getPriorityTreeRoot"))

        ranges = [(0, 1), (1, 0), (1, 2), (3, 4)]
        batches = [
            self.batch(n, self.l1_hashes[first : first + count])
            for n, (first, count) in enumerate(ranges, 1)
        ]
        previous = self.genesis
        for batch in batches:
            self.commit(previous, batch)
            previous = batch.stored()
        stored = [b.stored() for b in batches]
        self.prove(self.genesis, stored)

        executed_block = 0
        for batch, (first, count) in zip(stored, ranges, strict=True):
            self.execute([batch], [tree.range_proof(first, count).as_tuple()])
            self.assertEqual(self.chain_view("getFirstUnprocessedPriorityTx"), first + count)
            # What the node does once L1 executed the batch: trim, persist, and (on restart)
            # reload the snapshot and re-push the held leaves from the WAL.
            tree.trim(first + count)
            executed_block += 1
            snapshot = PriorityTreeSnapshot.decode(tree.snapshot(executed_block).encode())
            tree = snapshot.tree()
            tree.extend(self.l1_hashes[snapshot.start_index :])
            self.assertEqual(tree.root(), self.chain_view("getPriorityTreeRoot"))
        self.assertEqual(self.chain_view("getTotalBatchesExecuted"), 4)
        self.assertEqual(self.chain_view("getPriorityQueueSize"), 0)

    def test_wrong_proof_refused(self):
        """A proof of the right leaves against a tree that lacks a sibling is refused."""
        self.deposit()
        batch = self.batch(1, self.l1_hashes[:1])
        self.commit(self.genesis, batch)
        self.prove(self.genesis, [batch.stored()])
        tree = PriorityTree()
        tree.extend(self.l1_hashes)
        left, right, items = tree.range_proof(0, 1).as_tuple()
        right = [bytes(32)] * len(right)  # the sibling leaf replaced by zero
        data = self.timelock_data(
            "executeBatchesSharedBridge",
            1,
            1,
            model.execute_data([batch.stored()], [(left, right, items)]),
        )
        self.assertReverts(self.executor, self.timelock, data, "NotHistoricalRoot")
