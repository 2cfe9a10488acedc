"""The steps between the provers and the L1 senders (zkos_tw/batcher/l1_stages.py): commands in
order, a SNARK group split at L1's verified counter after a restart, and the priority tree's
range proofs checked against the L1 model's own tree."""

from __future__ import annotations

from dataclasses import replace

from twisted.trial.unittest import SynchronousTestCase

from tests.contracts import model
from tests.l1.sender_fixtures import envelopes
from tests.l1.test_senders_stages import root_from_range
from zkos_tw.batcher import l1_stages
from zkos_tw.batcher.info import BatchEnvelope, Proof, ProofCommand
from zkos_tw.hashing import keccak256
from zkos_tw.l1.calldata import CommitCommand, ExecuteCommand, ProveCommand
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.testing.memory_batch_store import MemoryBatchStore


def drain(queue):
    out = []
    while len(queue):
        out.append(queue.get().result)
    return out


def leaf(n: int) -> bytes:
    return keccak256(b"L1 tx %d" % n)


class StepTestCase(SynchronousTestCase):
    def start(self, step):
        step.startService()
        self.addCleanup(step.stopService)
        return step


class CommitFeederTests(StepTestCase):
    def test_one_command_per_batch_in_order(self):
        source, target = BoundedQueue(8), BoundedQueue(8)
        self.start(l1_stages.CommitFeeder(source, target))
        batches = envelopes(3)
        for e in batches:
            source.put(e)
        commands = drain(target)
        self.assertEqual([type(c) for c in commands], [CommitCommand] * 3)
        self.assertEqual([c.envelope for c in commands], batches)


class ProveFeederTests(StepTestCase):
    def test_group_split_at_l1_verified(self):
        """L1 verified batch 2 before the restart: batches 1-2 of the re-fed group go straight
        to the prove sender's output, 3-4 are proved as one command."""
        source, prove_in, prove_out = BoundedQueue(8), BoundedQueue(8), BoundedQueue(8)
        self.start(l1_stages.ProveFeeder(source, prove_in, prove_out, lambda: 2))
        batches = envelopes(4)
        source.put(ProofCommand(tuple(batches), Proof.fake_proof()))
        self.assertEqual(drain(prove_out), batches[:2])
        (command,) = drain(prove_in)
        self.assertIsInstance(command, ProveCommand)
        self.assertEqual((command.first_batch, command.last_batch), (3, 4))

    def test_nothing_verified_passes_the_group(self):
        source, prove_in, prove_out = BoundedQueue(8), BoundedQueue(8), BoundedQueue(8)
        self.start(l1_stages.ProveFeeder(source, prove_in, prove_out, lambda: 0))
        batches = envelopes(2)
        source.put(ProofCommand(tuple(batches), Proof.fake_proof()))
        self.assertEqual(drain(prove_out), [])
        self.assertEqual(drain(prove_in)[0].batches, tuple(batches))


class ExecuteFeederTests(StepTestCase):
    """Batches 1..4 over blocks 10n-9..10n; the L1 transactions of each batch are given by
    block range (``priority_tx_hashes`` patched)."""

    LEAVES = {1: [leaf(0), leaf(1), leaf(2)], 2: [], 3: [leaf(3)], 4: [leaf(4), leaf(5)]}

    def setUp(self):
        # The commit infos' L1 transaction counts agree with LEAVES (rebuilding reads only
        # batches that have some).
        self.batches = [
            BatchEnvelope(
                replace(
                    e.batch,
                    commit_batch_info=replace(
                        e.batch.commit_batch_info,
                        number_of_layer1_txs=len(self.LEAVES[e.number]),
                    ),
                )
            )
            for e in envelopes(4)
        ]
        ranges = {(10 * n - 9, 10 * n): hashes for n, hashes in self.LEAVES.items()}
        self.patch(l1_stages, "priority_tx_hashes", lambda storage, a, b: ranges[(a, b)])
        self.store = MemoryBatchStore()
        for e in self.batches:
            self.store.put(e.batch)

    def check_against_model(self, commands, upto: int):
        """Each proof, like the L1 contract's check, rebuilds a root the model tree had."""
        tree = model.PriorityTree()
        roots = set()
        for n in range(1, upto + 1):
            for h in self.LEAVES[n]:
                tree.push(h)
            roots.add(tree.root())
        start = sum(len(self.LEAVES[n]) for n in range(1, commands[0].first_batch))
        for command in commands:
            (proof,) = command.priority_ops
            n = command.first_batch
            self.assertEqual(list(proof.item_hashes), self.LEAVES[n])
            if not self.LEAVES[n]:
                self.assertEqual((proof.left_path, proof.right_path), ((), ()))
            else:
                root = root_from_range(start, proof.left_path, proof.right_path, proof.item_hashes)
                self.assertIn(root, roots)
            start += len(self.LEAVES[n])

    def test_range_proofs_from_the_start(self):
        source, target = BoundedQueue(8), BoundedQueue(8)
        feeder = self.start(
            l1_stages.ExecuteFeeder(
                source, target, storage=None, batch_store=self.store, last_executed=0
            )
        )
        for e in self.batches:
            source.put(e)
        commands = drain(target)
        self.assertEqual([type(c) for c in commands], [ExecuteCommand] * 4)
        self.assertEqual([c.first_batch for c in commands], [1, 2, 3, 4])
        self.check_against_model(commands, 4)
        self.assertEqual(len(feeder.tree), 6)

    def test_restart_rebuilds_the_tree_up_to_executed(self):
        """After batches 1-2 were executed, the rebuilt tree proves batch 3 exactly as an
        uninterrupted one does (same calldata)."""
        source, target = BoundedQueue(8), BoundedQueue(8)
        self.start(
            l1_stages.ExecuteFeeder(
                source, target, storage=None, batch_store=self.store, last_executed=0
            )
        )
        for e in self.batches:
            source.put(e)
        uninterrupted = drain(target)
        source2, target2 = BoundedQueue(8), BoundedQueue(8)
        self.start(
            l1_stages.ExecuteFeeder(
                source2, target2, storage=None, batch_store=self.store, last_executed=2
            )
        )
        for e in self.batches[2:]:
            source2.put(e)
        restarted = drain(target2)
        self.assertEqual(
            [c.calldata(b"\1" * 20) for c in restarted],
            [c.calldata(b"\1" * 20) for c in uninterrupted[2:]],
        )

    def test_out_of_order_batch_stops_the_step(self):
        source, target = BoundedQueue(8), BoundedQueue(8)
        feeder = self.start(
            l1_stages.ExecuteFeeder(
                source, target, storage=None, batch_store=self.store, last_executed=0
            )
        )
        source.put(self.batches[1])
        self.assertEqual(drain(target), [])
        self.flushLoggedErrors(RuntimeError)
        self.assertIn("expects batch 1, got 2", feeder.problems()[0])

    def test_executed_batch_missing_from_store_is_an_error(self):
        with self.assertRaises(RuntimeError) as e:
            l1_stages.rebuild_priority_tree(None, MemoryBatchStore(), 1)
        self.assertIn("batch 1 is executed on L1 but not in the batch store", str(e.exception))


class SinkTests(StepTestCase):
    def test_sink_reports_each_executed_batch(self):
        source = BoundedQueue(8)
        seen = []
        self.start(l1_stages.PipelineSink(source, lambda e: seen.append(e.number)))
        for e in envelopes(2):
            source.put(e)
        self.assertEqual(seen, [1, 2])


class SnapshotTests(StepTestCase):
    """The persisted cache (§7.4): a restart from the snapshot of an executed batch proves the
    next batches exactly as an uninterrupted run, without reading the batches before it."""

    LEAVES = ExecuteFeederTests.LEAVES

    def setUp(self):
        ExecuteFeederTests.setUp(self)
        self.file = l1_stages.SnapshotFile(self.mktemp())

    def run_feeder(self, last_executed, batches, snapshots=None):
        source, target = BoundedQueue(8), BoundedQueue(8)
        feeder = self.start(
            l1_stages.ExecuteFeeder(
                source,
                target,
                storage=None,
                batch_store=self.store,
                last_executed=last_executed,
                snapshots=snapshots,
            )
        )
        for e in batches:
            source.put(e)
        return feeder, drain(target)

    def test_restart_from_snapshot(self):
        feeder, uninterrupted = self.run_feeder(0, self.batches, self.file)
        feeder.executed(3)  # L1 executed batches 1..3; the file holds the tree after batch 3
        self.assertEqual(self.file.load().block_number, 30)
        reads = []
        real = l1_stages.priority_tx_hashes
        self.patch(
            l1_stages,
            "priority_tx_hashes",
            lambda storage, a, b: reads.append((a, b)) or real(storage, a, b),
        )
        _, restarted = self.run_feeder(3, self.batches[3:], self.file)
        self.assertEqual(reads, [(31, 40)])  # only batch 4, the one it proves
        self.assertEqual(restarted[0].calldata(b"\1" * 20), uninterrupted[3].calldata(b"\1" * 20))

    def test_snapshot_ahead_of_l1_is_not_used(self):
        """L1 lost executions (a dev anvil restarted from an older state): the snapshot after
        batch 3 does not fit L1's executed batch 1, so the tree is rebuilt from storage."""
        feeder, uninterrupted = self.run_feeder(0, self.batches, self.file)
        feeder.executed(3)
        _, restarted = self.run_feeder(1, self.batches[1:], self.file)
        self.assertEqual(
            [c.calldata(b"\1" * 20) for c in restarted],
            [c.calldata(b"\1" * 20) for c in uninterrupted[1:]],
        )

    def test_corrupt_snapshot_is_a_cache_miss(self):
        with open(self.file.path, "wb") as f:
            f.write(b"\x07garbage")
        self.assertIsNone(self.file.load())
        _, commands = self.run_feeder(0, self.batches, self.file)
        self.assertEqual(len(commands), 4)
