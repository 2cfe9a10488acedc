"""The prove and execute senders (``zkos_tw.l1.senders``) against the in-memory L1
(``FakeSenderL1``) and a ``Clock``, as ``test_senders`` drives the commit sender: their calldata
(a fake SNARK proof over a group of batches; real priority-tree range proofs), their L1 counters,
restarts, a failed receipt, and the §5.6 stage metrics they report."""

from __future__ import annotations

from eth_abi import decode as abi_decode
from prometheus_client import CollectorRegistry
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from tests.contracts import model
from tests.l1.sender_fixtures import (
    DIAMOND,
    GWEI,
    KEY,
    TIMELOCK,
    FakeSenderL1,
    envelopes,
    model_batches,
)
from zkos_tw.batcher.info import Proof
from zkos_tw.hashing import keccak256
from zkos_tw.l1 import calldata, senders
from zkos_tw.metrics_l1 import L1SenderMetrics
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.priority_tree import EMPTY_RANGE, PriorityTree

L1_HASHES = [keccak256(b"deposit %d" % i) for i in range(3)]
TIMELOCK_ARGS = ["address", "uint256", "uint256", "bytes"]
STORED = "(uint64,bytes32,uint64,uint256,bytes32,bytes32,bytes32,uint256,bytes32)"
EXECUTE_DATA = [
    STORED + "[]",
    "(bytes32[],bytes32[],bytes32[])[]",
    "(uint256,uint256,bytes32[])[][]",
]


def root_from_range(start: int, left, right, items) -> bytes:
    """The root ``Merkle.calculateRootPaths`` of the L1 contracts computes from a range proof
    (the check ``executeBatchesSharedBridge`` makes against the priority tree's root)."""
    level = list(items)
    for lhs_path, rhs_path in zip(left, right, strict=True):
        parity = start % 2
        if parity:
            level = [lhs_path, *level]
        if len(level) % 2:
            level = [*level, rhs_path]
        level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        start //= 2
    (root,) = level
    return root


class StageSenderTestCase(SynchronousTestCase):
    """A sender of ``command`` over ``FakeSenderL1`` with a ``Clock``, metrics and a log."""

    command = "prove"

    def setUp(self):
        self.l1 = FakeSenderL1(command=self.command)
        self.clock = Clock()
        self.clock.advance(1000.0)
        self.inbound = BoundedQueue(16, f"{self.command} in")
        self.outbound = BoundedQueue(16, f"{self.command} out")
        self.events = []
        self.patch(senders, "log", Logger(observer=self.events.append))
        self.registry = CollectorRegistry()
        self.metrics = L1SenderMetrics(self.registry)
        self.envelopes = envelopes(4, l1_hashes=L1_HASHES)
        for envelope in self.envelopes:
            envelope.stage_times["BatchSealed"] = 990.0

    def make_sender(self):
        sender = senders.L1Sender(
            self.command,
            private_key=KEY,
            l1_client=self.l1,
            clock=self.clock,
            diamond_proxy=DIAMOND,
            validator_timelock=TIMELOCK,
            inbound=self.inbound,
            outbound=self.outbound,
            max_fee_per_gas=10 * GWEI,
            max_priority_fee_per_gas=GWEI,
            poll_interval=1.0,
            stuck_tx_timeout=30.0,
            metrics=self.metrics,
        )
        self.addCleanup(lambda: sender.running and sender.stopService())
        return sender

    def feed(self, *commands):
        for command in commands:
            self.successResultOf(self.inbound.put(command))

    def drained(self):
        out = []
        while len(self.outbound):
            out.append(self.successResultOf(self.outbound.get()))
        return out

    def sample(self, name, **labels):
        return self.registry.get_sample_value(name, labels)

    def timelock_args(self, tx):
        data = bytes(tx["data"])
        return data[:4], abi_decode(TIMELOCK_ARGS, data[4:])


class ProveSenderTests(StageSenderTestCase):
    """The prove sender: one transaction per SNARK group, a fake proof of the group."""

    command = "prove"

    def prove(self, first, last):
        return calldata.ProveCommand(tuple(self.envelopes[first - 1 : last]), Proof.fake_proof())

    def test_group_proved_with_fake_snark_proof(self):
        """A group of batches 1..3 and then batch 4 go out with nonces 0 and 1; the first
        carries ``[3, 0, 13, public input]`` over batches 1..3 after genesis; once mined the
        four envelopes are passed on in order, stamped and measured."""
        self.feed(self.prove(1, 3), self.prove(4, 4))
        sender = self.make_sender()
        sender.startService()
        self.assertEqual(self.l1.pending_nonces(), [0, 1])
        selector, (chain, first, last, data) = self.timelock_args(self.l1.sent[0])
        self.assertEqual(selector, calldata.PROVE_SELECTOR)
        self.assertEqual((bytes.fromhex(chain[2:]), first, last), (DIAMOND, 1, 3))
        genesis, batches = model_batches(4, L1_HASHES)
        stored = [b.stored() for b in batches]
        expected = model.prove_data(
            genesis, stored[:3], model.fake_proof(model.public_input(genesis, stored[:3]))
        )
        self.assertEqual(data, expected)
        self.clock.advance(2.0)
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes)
        self.assertEqual(sender.l1_counter, 4)
        for envelope in self.envelopes:
            self.assertEqual(envelope.stage_times["ProveL1TxSent"], 1000.0)
            self.assertEqual(envelope.stage_times["ProveL1TxMined"], 1003.0)
        self.assertEqual(
            self.sample("batcher_execution_stages_seconds_count", stage="ProveL1TxMined"), 4
        )
        self.assertEqual(
            self.sample("batcher_execution_stages_seconds_sum", stage="ProveL1TxMined"), 4 * 13.0
        )
        self.assertEqual(self.sample("batcher_batch_number", stage="ProveL1TxMined"), 4)
        self.assertEqual(self.sample("l1_sender_nonce", command="prove"), 2)
        self.assertEqual(self.sample("l1_sender_gas_used_count", command="prove"), 2)

    def test_restart_skips_groups_on_l1(self):
        """With ``getTotalBatchesVerified`` at 3, the group 1..3 is passed on unsent and batch 4
        is proved with the operator's next nonce."""
        self.l1.counter, self.l1.nonce = 3, 1
        self.feed(self.prove(1, 3), self.prove(4, 4))
        sender = self.make_sender()
        sender.startService()
        self.assertEqual(sender.skipped, [3])
        self.assertEqual([t["nonce"] for t in self.l1.sent], [1])
        self.assertEqual(self.timelock_args(self.l1.sent[0])[1][1:3], (4, 4))
        self.assertEqual(self.drained(), self.envelopes[:3])
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[3:])

    def test_failed_receipt_stops_prove_stage(self):
        """A failed prove transaction stops the prove stage: one problem naming the group, the
        ``l1_sender_stopped`` gauge at 1, nothing passed on."""
        self.l1.fail_nonces.add(0)
        self.feed(self.prove(1, 3))
        sender = self.make_sender()
        self.successResultOf(sender.inbound.put(self.prove(4, 4)))
        sender.startService()
        self.assertEqual(self.sample("l1_sender_stopped", command="prove"), 0)
        self.l1.mine()
        self.clock.advance(1.0)
        (problem,) = sender.problems()
        self.assertTrue(problem.startswith("L1 prove sender stopped: prove transaction 0x"))
        self.assertIn("of batches 1..3 failed in L1 block 101", problem)
        self.assertEqual(self.sample("l1_sender_stopped", command="prove"), 1)
        self.assertEqual(self.drained(), [])


class ExecuteSenderTests(StageSenderTestCase):
    """The execute sender: one batch per transaction with its priority-op range proof."""

    command = "execute"

    def setUp(self):
        super().setUp()
        self.tree = PriorityTree()
        self.tree.extend(L1_HASHES)

    def test_execute_with_real_range_proofs(self):
        """Batch 1 (three deposits) carries the range proof of leaves 0..2 of the priority tree,
        which recomputes the tree's root as the contract does; batch 2 (no deposits) carries
        empty paths; both pass on once mined."""
        proof = self.tree.range_proof(0, 3)
        self.feed(
            calldata.ExecuteCommand((self.envelopes[0],), (proof,)),
            calldata.ExecuteCommand((self.envelopes[1],), (EMPTY_RANGE,)),
        )
        sender = self.make_sender()
        sender.startService()
        self.assertEqual(self.l1.pending_nonces(), [0, 1])
        decoded = []
        for tx in self.l1.sent:
            selector, (_, first, last, data) = self.timelock_args(tx)
            self.assertEqual((selector, first, last), (calldata.EXECUTE_SELECTOR, first, first))
            self.assertEqual(data[0], calldata.EXECUTE_DATA_VERSION)
            decoded.append(abi_decode(EXECUTE_DATA, data[1:]))
        (stored_1,), ((left, right, items),), roots_1 = decoded[0]
        self.assertEqual(stored_1[0], 1)
        self.assertEqual(list(items), L1_HASHES)
        self.assertEqual(root_from_range(0, left, right, items), self.tree.root())
        mtree = model.PriorityTree()
        for leaf in L1_HASHES:
            mtree.push(leaf)
        self.assertEqual(self.tree.root(), mtree.root())
        self.assertEqual(roots_1, ((),))
        (stored_2,), ops_2, _ = decoded[1]
        self.assertEqual((stored_2[0], ops_2), (2, (((), (), ()),)))
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[:2])
        self.assertEqual(self.sample("batcher_batch_number", stage="ExecuteL1TxMined"), 2)
        self.assertEqual(
            self.sample("batcher_execution_stages_seconds_count", stage="ExecuteL1TxSent"), 2
        )

    def test_range_proof_in_the_middle_of_a_tree(self):
        """A range starting on an odd leaf of a larger tree still recomputes the root (the
        check the contract makes for a later batch's deposits)."""
        self.tree.extend(keccak256(b"later %d" % i) for i in range(4))
        proof = self.tree.range_proof(3, 3)
        self.assertEqual(
            root_from_range(3, proof.left_path, proof.right_path, proof.item_hashes),
            self.tree.root(),
        )

    def test_restart_skips_executed_batches(self):
        """With ``getTotalBatchesExecuted`` at 1, batch 1 is passed on unsent and batch 2 is
        executed with the next nonce."""
        self.l1.counter, self.l1.nonce = 1, 1
        self.feed(
            calldata.ExecuteCommand((self.envelopes[0],), (self.tree.range_proof(0, 3),)),
            calldata.ExecuteCommand((self.envelopes[1],), (EMPTY_RANGE,)),
        )
        sender = self.make_sender()
        sender.startService()
        self.assertEqual(sender.skipped, [1])
        self.assertEqual([t["nonce"] for t in self.l1.sent], [1])
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[:2])
        self.assertEqual(sender.problems(), [])
