"""``create_rollup_pipeline``'s start-up checks: data that L1 is ahead of, or a proof storage of
another chain, is a one-line start-up error instead of batches sent twice or wrongly."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.l1.sender_fixtures import envelopes
from tests.prover_api.helpers import WORKER, good_proof, sealed
from zkos_tw.batcher.assembly import create_rollup_pipeline
from zkos_tw.batcher.info import Proof
from zkos_tw.batcher.proof_storage import FileProofStorage
from zkos_tw.config import build_config
from zkos_tw.launcher import StartupError
from zkos_tw.prover_api import attestation
from zkos_tw.prover_api.fri_jobs import DeserializationFailed, VerificationFailed
from zkos_tw.prover_api.generation import StoredProverInputs
from zkos_tw.testing.memory_batch_store import MemoryBatchStore


class _Sink:
    def add_listener(self, listener):
        return lambda: None


class StartupChecks(SynchronousTestCase):
    def setUp(self):
        self.shared = self.mktemp()
        self.config = build_config(
            {
                "prover_api_object_store_file_backed_base_path": self.shared,
                "prover_api_component_enabled": False,
            }
        )
        self.store = MemoryBatchStore()
        self.batches = [replace(e, fri_proof=Proof.fake_proof()) for e in envelopes(3)]

    def create(self, committed=0, verified=0, executed=0):
        senders = {
            name: SimpleNamespace(l1_counter=counter, inbound=None, outbound=None)
            for name, counter in (("commit", committed), ("prove", verified), ("execute", executed))
        }
        storage = SimpleNamespace(tree_store=lambda: None, last_block=lambda: 0)
        chain = SimpleNamespace(
            storage=storage, genesis=SimpleNamespace(state_commitment=b"\1" * 32)
        )
        return create_rollup_pipeline(
            self.config,
            Clock(),
            chain=chain,
            sink=_Sink(),
            senders=senders,
            l1_state=SimpleNamespace(diamond_proxy=b"\2" * 20, da_mode="Rollup"),
            batch_store=self.store,
        )

    def test_l1_ahead_of_batch_store(self):
        self.store.put(self.batches[0].batch)
        with self.assertRaises(StartupError) as e:
            self.create(committed=2)
        self.assertIn(
            "L1 has 2 batches committed but this node's batch store ends at batch 1",
            str(e.exception),
        )

    def test_l1_ahead_of_proof_storage(self):
        for envelope in self.batches:
            self.store.put(envelope.batch)
        FileProofStorage(self.shared).put(self.batches[0])
        with self.assertRaises(StartupError) as e:
            self.create(committed=2)
        self.assertIn("proof storage", str(e.exception))
        self.assertIn("ends at batch 1", str(e.exception))

    def test_proof_storage_of_another_chain(self):
        for envelope in self.batches:
            self.store.put(envelope.batch)
        other = replace(
            self.batches[0].batch,
            commit_batch_info=replace(
                self.batches[0].batch.commit_batch_info, new_state_commitment=b"\x99" * 32
            ),
        )
        FileProofStorage(self.shared).put(replace(self.batches[0], batch=other))
        with self.assertRaises(StartupError) as e:
            self.create()
        self.assertIn("holds a batch 1 that is not this chain's", str(e.exception))


class ProverApiWiring(SynchronousTestCase):
    """The pipeline's prover API verifies real FRI attestations against
    ``prover_api_trusted_signers`` and serves inputs built from the node's storage."""

    def create(self, signers: str):
        config = build_config(
            {
                "prover_api_object_store_file_backed_base_path": self.mktemp(),
                "prover_api_component_enabled": False,
                "prover_api_fake_fri_provers_enabled": False,
                "prover_api_trusted_signers": tuple(s for s in signers.split(",") if s),
            }
        )
        senders = {
            name: SimpleNamespace(l1_counter=0, inbound=None, outbound=None)
            for name in ("commit", "prove", "execute")
        }
        storage = SimpleNamespace(tree_store=lambda: None, last_block=lambda: 0)
        chain = SimpleNamespace(
            storage=storage, genesis=SimpleNamespace(state_commitment=b"\1" * 32)
        )
        pipeline = create_rollup_pipeline(
            config,
            Clock(),
            chain=chain,
            sink=_Sink(),
            senders=senders,
            l1_state=SimpleNamespace(diamond_proxy=b"\2" * 20, da_mode="Rollup"),
            batch_store=MemoryBatchStore(),
        )
        return pipeline.getServiceNamed("prover-api").fri_jobs

    def assigned(self, jobs):
        jobs.input.put(sealed(1))
        # Assigned without building an input (the storage here is a stand-in).
        self.assertEqual(jobs.pick(with_input=False).number, 1)
        return jobs.peek(1).envelope

    def test_trusted_signer_accepted(self):
        jobs = self.create("0x" + WORKER.hex())
        envelope = self.assigned(jobs)
        self.successResultOf(defer.ensureDeferred(jobs.submit(1, good_proof(envelope))))
        self.assertEqual(jobs.status(), [])
        self.assertEqual(len(jobs.output), 1)

    def test_refusals_keep_the_job(self):
        """Unknown signer, wrong public input, undecodable bytes: refused, still assigned."""
        jobs = self.create("0x" + "11" * 20)
        envelope = self.assigned(jobs)
        good = good_proof(envelope)
        tampered = attestation.encode(replace(attestation.decode(good), public_input=b"\0" * 32))
        for proof, kind in (
            (good, VerificationFailed),
            (tampered, VerificationFailed),
            (b"\x00garbage", DeserializationFailed),
        ):
            self.failureResultOf(defer.ensureDeferred(jobs.submit(1, proof)), kind)
        self.assertEqual(jobs.status(), [(1, 0)])
        self.assertEqual(len(jobs.output), 0)

    def test_prover_input_from_storage(self):
        """A real pick asks the storage-backed builder (not the empty default input)."""
        jobs = self.create("")
        self.assertIsInstance(jobs._prover_input, StoredProverInputs)
