"""Commit / prove / execute on our ZK chain contract through the validator timelock (real anvil).

The happy paths follow a batch from commit to execute with the events and counters the node
watches; every check of the Executor has a test that breaks exactly that one thing.
"""

from __future__ import annotations

from eth_account import Account

from tests.contracts import model
from tests.contracts.harness import L1ContractsTestCase
from zkos_tw.l1.artifacts import encode_call
from zkos_tw.l1.deploy import DeployError, Sender

BLOCK_COMMIT = "0x8f2916b2f2d78cc5890ead36c06c0f6d5d112c7e103589947e8e2f0d6eddb763"
BLOCKS_VERIFICATION = "0x22c9005dd88c18b552a1cd7e8b3b937fcde9ca69213c1f658f54d572e4877a81"
BLOCK_EXECUTION = "0x2402307311a4d6604e4e7b4c8a15a7e1213edb39c16a31efa70afb06030d3165"


def word(value) -> str:
    if isinstance(value, int):
        value = value.to_bytes(32, "big")
    return "0x" + value.hex()


class ExecutorHappyPathTests(L1ContractsTestCase):
    """Batches go through commit, prove and execute with the reference's events."""

    def test_batch_1_commit_prove_execute(self):
        """Batch 1 (the deposit and the genesis upgrade) is committed, proved and executed."""
        batch = self.batch(1, self.l1_hashes)
        stored = batch.stored()
        receipt = self.commit(self.genesis, batch)
        (log,) = [entry for entry in receipt["logs"] if entry["topics"][0] == BLOCK_COMMIT]
        self.assertEqual(log["address"].lower(), self.chain.lower())
        self.assertEqual(
            log["topics"][1:], [word(1), word(batch.state_commitment), word(stored.commitment)]
        )
        self.assertEqual(self.chain_view("storedBatchHash", 1), stored.hash())
        self.assertEqual(self.chain_view("getTotalBatchesCommitted"), 1)
        self.assertEqual(self.chain_view("getL2SystemContractsUpgradeBatchNumber"), 1)

        receipt = self.prove(self.genesis, [stored])
        (log,) = [e for e in receipt["logs"] if e["topics"][0] == BLOCKS_VERIFICATION]
        self.assertEqual(log["topics"][1:], [word(0), word(1)])
        self.assertEqual(self.chain_view("getTotalBatchesVerified"), 1)

        tree = model.PriorityTree()
        tree.push(self.l1_hashes[0])
        receipt = self.execute([stored], [tree.range_proof(0, 1)])
        (log,) = [e for e in receipt["logs"] if e["topics"][0] == BLOCK_EXECUTION]
        self.assertEqual(
            log["topics"][1:], [word(1), word(batch.state_commitment), word(stored.commitment)]
        )
        self.assertEqual(self.chain_view("getTotalBatchesExecuted"), 1)
        self.assertEqual(self.chain_view("getFirstUnprocessedPriorityTx"), 1)
        self.assertEqual(self.chain_view("l2LogsRootHash", 1), model.EMPTY_LOGS_ROOT)
        self.assertEqual(self.chain_view("getL2SystemContractsUpgradeTxHash"), b"\0" * 32)
        self.assertEqual(self.chain_view("getL2SystemContractsUpgradeBatchNumber"), 0)

    def test_three_batches_one_proof(self):
        """Batches 1-3 (1, 0 and 2 L1 txs) proved in one transaction, executed in two, while a
        later deposit has already grown the L1 priority tree past the node's."""
        self.deposit()
        self.deposit()
        b1 = self.batch(1, self.l1_hashes[:1])
        b2 = self.batch(2, [])
        b3 = self.batch(3, self.l1_hashes[1:3])
        previous = self.genesis
        for batch in (b1, b2, b3):
            self.commit(previous, batch)
            previous = batch.stored()
        stored = [b1.stored(), b2.stored(), b3.stored()]
        receipt = self.prove(self.genesis, stored)
        (log,) = [e for e in receipt["logs"] if e["topics"][0] == BLOCKS_VERIFICATION]
        self.assertEqual(log["topics"][1:], [word(0), word(3)])
        self.deposit()  # a 4th leaf on L1 that the node's tree does not have yet

        tree = model.PriorityTree()
        tree.push(self.l1_hashes[0])
        self.execute(stored[:1], [tree.range_proof(0, 1)])
        tree.push(self.l1_hashes[1])
        tree.push(self.l1_hashes[2])
        receipt = self.execute(stored[1:], [tree.range_proof(1, 0), tree.range_proof(1, 2)])
        executions = [e for e in receipt["logs"] if e["topics"][0] == BLOCK_EXECUTION]
        self.assertEqual([e["topics"][1] for e in executions], [word(2), word(3)])
        self.assertEqual(self.chain_view("getTotalBatchesExecuted"), 3)
        self.assertEqual(self.chain_view("getFirstUnprocessedPriorityTx"), 3)
        self.assertEqual(self.chain_view("getPriorityQueueSize"), 1)


class CommitRejectionTests(L1ContractsTestCase):
    """Each commit check refuses a batch that breaks it."""

    def commit_call(self, previous, batch, sender=None, from_=None, to=None, data=None):
        data = data if data is not None else model.commit_data(previous, [batch])
        from_ = batch.number if from_ is None else from_
        to = batch.number if to is None else to
        return self.timelock_data("commitBatchesSharedBridge", from_, to, data)

    def refuse(self, error, batch, previous=None, sender=None, **kwargs):
        data = self.commit_call(previous or self.genesis, batch, **kwargs)
        return self.assertReverts(sender or self.committer, self.timelock, data, error)

    def test_accepts_the_good_batch(self):
        """The batch the other tests break is itself accepted (eth_call does not revert)."""
        data = self.commit_call(self.genesis, self.batch(1, self.l1_hashes))
        self.rpc.call(
            "eth_call",
            {"from": self.committer.address, "to": self.timelock, "data": "0x" + data.hex()},
            "latest",
        )

    def test_wrong_range(self):
        """from must be the next batch and to - from + 1 the number of batches."""
        batch = self.batch(1, self.l1_hashes)
        self.refuse("WrongBatchRange", batch, from_=2, to=2)
        self.refuse("WrongBatchRange", batch, from_=1, to=2)

    def test_wrong_batch_number(self):
        """The batch number must follow the previous batch's."""
        self.refuse("BatchNumberMismatch(1, 2)", self.batch(2, self.l1_hashes), from_=1, to=1)

    def test_wrong_previous_hash(self):
        """The previous StoredBatchInfo must hash to the stored hash of the last batch."""
        wrong = model.genesis_batch(b"\x11" * 32)
        self.refuse("PreviousBatchHashMismatch", self.batch(1, self.l1_hashes), previous=wrong)

    def test_wrong_priority_hash(self):
        """The priority-operations hash must roll up the queued L1 transactions."""
        batch = self.batch(1, self.l1_hashes, priority_ops_hash_override=b"\x22" * 32)
        self.refuse("PriorityOperationsHashMismatch", batch)
        self.refuse("PriorityOperationsHashMismatch", self.batch(1, [b"\x33" * 32]))

    def test_more_l1_txs_than_queued(self):
        """A batch cannot claim L1 transactions that were never requested."""
        batch = self.batch(1, self.l1_hashes + [b"\x44" * 32])
        self.refuse("NotEnoughPriorityTxs(1, 2)", batch)

    def test_wrong_chain_id(self):
        self.refuse("WrongChainId(270, 271)", self.batch(1, self.l1_hashes, chain_id=271))

    def test_timestamps_out_of_order(self):
        batch = self.batch(1, self.l1_hashes, first_ts=1_900_000_000, last_ts=1_800_000_000)
        self.refuse("TimestampsOutOfOrder", batch)

    def test_da_input(self):
        """Rollup DA: the header hashes to daCommitment and holds keccak of the pubdata."""
        batch = self.batch(1, self.l1_hashes)
        _, good = batch.da()
        pubdata_changed = good[:98] + b"X" + good[99:]
        self.refuse("PubdataHashMismatch", batch.with_(da_input_override=pubdata_changed))
        header_changed = b"\x01" + good[1:]
        self.refuse("DACommitmentMismatch", batch.with_(da_input_override=header_changed))
        self.refuse("MalformedOperatorDAInput(32)", batch.with_(da_input_override=b"\0" * 32))
        wrong_source = good[:97] + b"\x01" + good[98:]
        self.refuse("MalformedOperatorDAInput", batch.with_(da_input_override=wrong_source))

    def test_wrong_encoding_version(self):
        """The commit payload starts with 0x02."""
        batch = self.batch(1, self.l1_hashes)
        data = b"\x01" + model.commit_data(self.genesis, [batch])[1:]
        self.refuse("UnsupportedEncodingVersion(2, 1)", batch, data=data)
        self.refuse("UnsupportedEncodingVersion(2, 0)", batch, data=b"")

    def test_only_the_commit_operator(self):
        """Strangers and the other operators cannot commit through the timelock."""
        batch = self.batch(1, self.l1_hashes)
        for sender in (self.stranger, self.prover, self.executor, self.rich):
            self.refuse("NotOperator", batch, sender=sender)

    def test_only_through_the_timelock(self):
        """The chain accepts Executor calls from the validator timelock only."""
        data = encode_call(
            self.arts["ZKChain"].abi,
            "commitBatchesSharedBridge",
            self.chain,
            1,
            1,
            model.commit_data(self.genesis, [self.batch(1, self.l1_hashes)]),
        )
        self.assertReverts(self.committer, self.chain, data, "OnlyValidatorTimelock")

    def test_wrong_chain_address(self):
        """The chain refuses calls naming another chain address (the timelock impersonated)."""
        data = encode_call(
            self.arts["ZKChain"].abi,
            "commitBatchesSharedBridge",
            self.addresses.bridgehub,
            1,
            1,
            model.commit_data(self.genesis, [self.batch(1, self.l1_hashes)]),
        )
        self.rpc.call("anvil_impersonateAccount", self.timelock)
        self.rpc.call("anvil_setBalance", self.timelock, hex(10**20))
        as_timelock = Sender.__new__(Sender)
        as_timelock.address = self.timelock
        as_timelock._abis = self.committer._abis
        self.assertReverts(as_timelock, self.chain, data, "WrongChainAddress")

    def test_refused_transaction_changes_nothing(self):
        """A real commit transaction with a wrong previous hash is mined as failed."""
        wrong = model.genesis_batch(b"\x11" * 32)
        with self.assertRaises(DeployError) as ctx:
            self.commit(wrong, self.batch(1, self.l1_hashes))
        self.assertIn("reverted: PreviousBatchHashMismatch", str(ctx.exception))
        self.assertEqual(self.chain_view("getTotalBatchesCommitted"), 0)

    def test_upgrade_hash_is_in_batch_1(self):
        """A node that leaves the upgrade tx out of batch 1's commitment holds a StoredBatchInfo
        that L1 does not: its next commit is refused."""
        honest = self.batch(1, self.l1_hashes)
        forgetful = honest.with_(upgrade_tx_hash=b"\0" * 32)
        self.commit(self.genesis, forgetful)
        self.assertEqual(self.chain_view("storedBatchHash", 1), honest.stored().hash())
        self.refuse("PreviousBatchHashMismatch", self.batch(2, []), previous=forgetful.stored())


class ProveRejectionTests(L1ContractsTestCase):
    """Each prove check, including the testnet verifier's."""

    def setUp(self):
        super().setUp()
        self.b1 = self.batch(1, self.l1_hashes)
        self.stored1 = self.b1.stored()
        self.commit(self.genesis, self.b1)
        self.good_input = model.public_input(self.genesis, [self.stored1])

    def refuse(self, error, proof=None, previous=None, batches=None, from_=1, to=1, sender=None):
        proof = proof if proof is not None else model.fake_proof(self.good_input)
        data = model.prove_data(previous or self.genesis, batches or [self.stored1], proof)
        call = self.timelock_data("proveBatchesSharedBridge", from_, to, data)
        return self.assertReverts(sender or self.prover, self.timelock, call, error)

    def test_wrong_public_input(self):
        """The fake proof must carry exactly the public input of the proved batches."""
        self.refuse("WrongPublicInput", model.fake_proof(self.good_input + 1))
        other = model.public_input(
            self.genesis, [self.b1.with_(state_commitment=b"\5" * 32).stored()]
        )
        self.refuse("WrongPublicInput", model.fake_proof(other))

    def test_malformed_fake_proof(self):
        self.refuse("MalformedFakeProof", [3, 0, 12, self.good_input])
        self.refuse("MalformedFakeProof", [3, 1, 13, self.good_input])
        self.refuse("MalformedFakeProof", [3, 0, 13])
        self.refuse("MalformedFakeProof", [])

    def test_unknown_proof_type_refused(self):
        """Only the fake (3) and real (2) types exist (real ones: test_snark_verifier.py)."""
        self.refuse("UnsupportedProofType(1)", [1, 0, 13, self.good_input])
        self.refuse("MalformedRealProof", [2, 0, 1, 2, 3])

    def test_not_committed(self):
        b2 = self.batch(2, []).stored()
        self.refuse("BatchNotCommitted(2, 1)", batches=[self.stored1, b2], to=2)

    def test_wrong_previous(self):
        self.refuse("PreviousBatchHashMismatch", previous=model.genesis_batch(b"\1" * 32))

    def test_wrong_stored_batch(self):
        """The proved StoredBatchInfo must be the one L1 stored at commit."""
        wrong = self.b1.with_(pubdata=b"other pubdata").stored()
        self.refuse("StoredBatchHashMismatch", batches=[wrong])

    def test_wrong_range(self):
        self.refuse("WrongBatchRange", from_=2, to=2)

    def test_only_the_prove_operator(self):
        for sender in (self.stranger, self.committer, self.executor):
            self.refuse("NotOperator", sender=sender)


class ExecuteRejectionTests(L1ContractsTestCase):
    """Each execute check, including the priority-tree range proof."""

    def setUp(self):
        super().setUp()
        self.deposit()
        self.b1 = self.batch(1, self.l1_hashes[:2])
        self.stored1 = self.b1.stored()
        self.commit(self.genesis, self.b1)
        self.tree = model.PriorityTree()
        for h in self.l1_hashes[:2]:
            self.tree.push(h)
        self.ops = self.tree.range_proof(0, 2)

    def refuse(self, error, ops=None, batches=None, roots=None, from_=1, to=1, sender=None):
        data = model.execute_data(batches or [self.stored1], [ops or self.ops], roots)
        call = self.timelock_data("executeBatchesSharedBridge", from_, to, data)
        return self.assertReverts(sender or self.executor, self.timelock, call, error)

    def test_not_verified(self):
        self.refuse("BatchNotVerified(1, 0)")

    def test_after_prove(self):
        """Once proved, every broken part of the execute payload is refused; the good one runs."""
        self.prove(self.genesis, [self.stored1])
        left, right, items = self.ops
        self.refuse("PriorityOperationsHashMismatch", ops=(left, right, [items[1], items[0]]))
        self.refuse("PriorityOpsCountMismatch(1, 2, 1)", ops=(left, right, items[:1]))
        empty_pair = model.keccak256(model.EMPTY_KECCAK * 2)
        # The same two leaves in a tree of four: a root L1 never had.
        self.refuse("NotHistoricalRoot", ops=([b"\0" * 32] * 2, [b"\0" * 32, empty_pair], items))
        self.refuse("MerklePathLengthMismatch", ops=(left, right + [b"\0" * 32], items))
        self.refuse("InteropRootsNotSupported(1)", roots=[[(1, 1, [])]])
        self.refuse(
            "StoredBatchHashMismatch", batches=[self.b1.with_(last_ts=2_000_000_000).stored()]
        )
        self.refuse("WrongBatchRange", from_=2, to=2)
        for sender in (self.stranger, self.committer, self.prover):
            self.refuse("NotOperator", sender=sender)
        data = model.execute_data([self.stored1], [self.ops, self.ops])
        call = self.timelock_data("executeBatchesSharedBridge", 1, 1, data)
        self.assertReverts(self.executor, self.timelock, call, "ArgumentsLengthMismatch")
        self.execute([self.stored1], [self.ops])
        self.assertEqual(self.chain_view("getTotalBatchesExecuted"), 1)

    def test_operator_roles(self):
        """The timelock's roles are the node's three default operators, one role each."""
        view = self.arts["ValidatorTimelock"]
        from zkos_tw.l1.deploy import eth_call

        for sender, role in ((self.committer, 1), (self.prover, 2), (self.executor, 4)):
            self.assertEqual(
                eth_call(self.rpc, view, self.timelock, "roles", self.chain, sender.address), role
            )
        stranger = Account.from_key("0x" + "42" * 32).address
        self.assertEqual(eth_call(self.rpc, view, self.timelock, "roles", self.chain, stranger), 0)
