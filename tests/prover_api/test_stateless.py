"""The node builds a batch's prover input from storage; a worker re-executes it from the
witness alone and reaches the public input the server expects (§5.4)."""

from __future__ import annotations

from tests.batcher.test_chain_pubdata import CHAIN_ADDRESS, ChainPubdataTests
from zkos_tw.batcher.commitment import build_commit_batch_info
from zkos_tw.hashing import keccak256
from zkos_tw.merkle.tree import MerkleTree
from zkos_tw.prover_api import prover_input as pi
from zkos_tw.prover_api.generation import ProverInputBuilder
from zkos_tw.prover_api.stateless import prove_batch


class StatelessProvingTests(ChainPubdataTests):
    def test_worker_reaches_the_expected_public_input(self):
        """Blocks 1..2 as one batch: state before/after and commitment match the node's."""
        data = ProverInputBuilder(self.storage).build(1, 1, 2)
        proof = prove_batch(data)
        info = build_commit_batch_info(
            self.storage,
            MerkleTree(self.storage.tree_store()),
            batch_number=1,
            first_block=1,
            last_block=2,
            chain_id=270,
            chain_address=CHAIN_ADDRESS,
        )
        self.assertEqual(proof.state_after, info.new_state_commitment)
        self.assertEqual(proof.commitment, info.commitment())
        self.assertEqual(proof.state_before, self.node.chain.genesis.state_commitment)
        self.assertEqual(
            proof.public_input,
            keccak256(proof.state_before + info.new_state_commitment + info.commitment()),
        )
        self.assertEqual(proof.blocks, 2)

    def test_missing_slot_fails_clearly(self):
        """A witness without one of the keys block 2 reads: ``MissingWitness`` naming it."""
        decoded = pi.decode(ProverInputBuilder(self.storage).build(1, 1, 2))
        second = decoded.blocks[1]
        cut = pi.BlockInput(
            second.context,
            second.tree_root,
            second.leaf_count,
            second.previous_block_timestamp,
            second.rightmost,
            second.transactions,
            second.reads[1:],
            second.preimages,
        )
        data = pi.encode(pi.ProverInput(1, (decoded.blocks[0], cut)))
        with self.assertRaises(pi.MissingWitness) as raised:
            prove_batch(data)
        self.assertIn("block 2 ", str(raised.exception))
        self.assertIn("not in the witness", str(raised.exception))
