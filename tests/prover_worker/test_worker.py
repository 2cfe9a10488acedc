"""``ProverWorker`` against the real prover API routes (``StubTreq``) over a real chain's batch:
a FRI job is re-executed from its input and accepted; refusals, bad inputs, an unreachable API
and a SNARK aggregate."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from treq.testing import StubTreq
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.batcher.test_chain_pubdata import CHAIN_ADDRESS, ChainPubdataTests
from tests.prover_api.helpers import WORKER, WORKER_KEY
from zkos_tw.batcher.commitment import build_commit_batch_info
from zkos_tw.batcher.info import BatchEnvelope, BatchMetadata, StoredBatchInfo
from zkos_tw.batcher.service import BATCH_SEALED
from zkos_tw.hashing import keccak256
from zkos_tw.l1 import calldata
from zkos_tw.merkle.tree import MerkleTree
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.prover_api import attestation
from zkos_tw.prover_api.attestation import AttestationVerifier
from zkos_tw.prover_api.fri_jobs import FriJobs
from zkos_tw.prover_api.generation import ProverInputBuilder
from zkos_tw.prover_api.server import ProverApi
from zkos_tw.prover_api.snark_jobs import SnarkJobs
from zkos_tw.prover_worker import snark
from zkos_tw.prover_worker.metrics import WorkerMetrics
from zkos_tw.prover_worker.worker import ProverWorker
from zkos_tw.testing.memory_proof_storage import MemoryProofStorage

OTHER_KEY = b"\x42" * 32


class WorkerTests(SynchronousTestCase):
    def setUp(self):
        ChainPubdataTests.setUp(self)  # the chain only, not its tests
        self.clock = Clock()
        info = build_commit_batch_info(
            self.storage,
            MerkleTree(self.storage.tree_store()),
            batch_number=1,
            first_block=1,
            last_block=2,
            chain_id=270,
            chain_address=CHAIN_ADDRESS,
        )
        genesis = StoredBatchInfo.genesis(self.node.chain.genesis.state_commitment)
        self.batch = BatchMetadata(genesis, info, 1, 2, 5)
        self.sealed, self.proved = BoundedQueue(4), BoundedQueue(4)
        self.committed, self.commands = BoundedQueue(4), BoundedQueue(4)
        builder = ProverInputBuilder(self.storage)
        self.input = lambda envelope: builder.build(envelope.number, 1, 2)
        self.fri = FriJobs(
            input=self.sealed,
            output=self.proved,
            clock=self.clock,
            verifier=AttestationVerifier([WORKER]),
            prover_input=lambda envelope: self.input(envelope),
        )
        self.snark = SnarkJobs(input=self.committed, output=self.commands, clock=self.clock)
        self.http = StubTreq(ProverApi(self.fri, self.snark, MemoryProofStorage()).app.resource())

    def worker(self, key=WORKER_KEY, **kw):
        return ProverWorker(
            "http://prover", http=self.http, clock=self.clock, private_key=key, prover_id="w", **kw
        )

    def step(self, worker):
        return self.successResultOf(defer.ensureDeferred(worker.step()))

    def seal(self):
        self.sealed.put(BatchEnvelope(self.batch, stage_times={BATCH_SEALED: 0.0}))

    def test_fri_job_proved_and_accepted(self):
        """The input is re-executed, its public input is the server's, the proof goes on."""
        self.seal()
        worker = self.worker()
        self.assertTrue(self.step(worker))
        (result,) = worker.results
        self.assertEqual((result.stage, result.first, result.code), ("fri", 1, 204))
        self.assertEqual(result.proof.public_input, attestation.expected_public_input(self.batch))
        self.assertEqual((result.proof.blocks, result.proof.gas_used > 0), (2, True))
        proved = self.successResultOf(self.proved.get())
        self.assertFalse(proved.fri_proof.fake)
        self.assertEqual(attestation.decode(proved.fri_proof.data).signer(), WORKER)

    def test_metrics(self):
        """Re-execution speed and job outcomes on the worker's own registry."""
        registry = CollectorRegistry()
        worker = self.worker(metrics=WorkerMetrics(registry))
        self.seal()
        self.step(worker)
        proof = worker.results[0].proof
        value = registry.get_sample_value
        self.assertEqual(value("prover_worker_reexecuted_gas_total"), proof.gas_used)
        self.assertEqual(value("prover_worker_reexecuted_blocks_total"), 2)
        self.assertEqual(value("prover_worker_reexecution_seconds_count"), 1)
        self.assertGreater(value("prover_worker_reexecution_gas_per_second"), 0)
        self.assertEqual(
            value("prover_worker_jobs_total", {"stage": "fri", "result": "accepted"}), 1
        )
        self.assertEqual(
            value("prover_worker_prover_input_bytes_total"), worker.results[0].input_bytes
        )

    def test_nothing_to_do(self):
        worker = self.worker()
        self.assertFalse(self.step(worker))
        self.assertEqual(worker.results, [])

    def test_untrusted_worker_refused(self):
        """A worker the node does not trust gets 400; the job stays assigned."""
        self.seal()
        worker = self.worker(OTHER_KEY)
        self.assertTrue(self.step(worker))
        self.assertEqual(
            (worker.results[0].code, worker.results[0].answer), (400, "proof verification failed")
        )
        self.assertEqual(self.fri.status(), [(1, 0)])
        self.assertEqual(len(self.proved), 0)

    def test_bad_input_not_submitted(self):
        """An input that does not decode is logged, nothing is submitted, the job stays."""
        self.input = lambda envelope: b"ZKPI\0\0\0\0"
        self.seal()
        worker = self.worker()
        self.assertTrue(self.step(worker))
        self.assertEqual(worker.results, [])
        self.assertEqual(self.fri.status(), [(1, 0)])

    def test_unreachable_api(self):
        """A transport error is no job: the worker goes on polling."""

        class Down:
            def post(self, *a, **kw):
                return defer.fail(ConnectionRefusedError("down"))

        worker = ProverWorker("http://x", http=Down(), clock=self.clock, private_key=WORKER_KEY)
        self.assertFalse(self.step(worker))
        self.assertTrue(worker._unreachable)

    def test_run_stops_after_jobs(self):
        """``run(max_jobs)`` polls while there is nothing, then proves and returns."""
        worker = self.worker(poll_interval=0.5)
        d = defer.ensureDeferred(worker.run(1))
        self.clock.advance(0.5)
        self.assertNoResult(d)
        self.seal()
        self.clock.advance(0.5)
        self.successResultOf(d)
        self.assertEqual([r.code for r in worker.results], [204])

    def test_snark_aggregate(self):
        """A SNARK worker signs the aggregate of the range's FRI attestations; the server takes
        the range in one real ``ProofCommand``."""
        self.seal()
        self.step(self.worker())
        self.committed.put(self.successResultOf(self.proved.get()))
        worker = self.worker(snark_mode=True)
        self.assertTrue(self.step(worker))
        self.assertEqual((worker.results[0].stage, worker.results[0].code), ("snark", 204))
        command = self.successResultOf(self.commands.get())
        self.assertFalse(command.proof.fake)
        self.assertEqual([e.number for e in command.batches], [1])
        aggregate = snark.decode(command.proof.data)
        self.assertEqual((aggregate.first, aggregate.last), (1, 1))
        # The public input L1 computes for the prove transaction of batch 1.
        stored = self.batch.commit_batch_info.stored()
        expected = calldata.snark_public_input(self.batch.previous_stored_batch_info, [stored])
        self.assertEqual(aggregate.aggregate, expected.to_bytes(32, "big"))
        self.assertEqual(aggregate.signer(), WORKER)
        words = calldata.proof_words(command.proof, expected)
        self.assertEqual(words[2], expected)
        self.assertEqual(len(words), 6)


class AggregateTests(SynchronousTestCase):
    """``snark.aggregate`` refuses FRI proofs that are not the range's attestations."""

    def test_refusals(self):
        good = attestation.encode(attestation.sign(5, b"\1" * 32, WORKER_KEY))
        for first, last, proofs, text in (
            (5, 6, [good], "1 FRI proofs for batches 5-6"),
            (4, 4, [good], "is for batch 5"),
            (5, 5, [b"nope"], "FRI proof of batch 5: not JSON"),
        ):
            with self.assertRaises(snark.AggregationError) as e:
                snark.aggregate(first, last, proofs, WORKER_KEY)
            self.assertIn(text, str(e.exception))
        self.assertEqual(len(snark.aggregate(5, 5, [good], WORKER_KEY).encode()), 128)


class AggregateFormatTests(SynchronousTestCase):
    """The ``V2`` bytes: golden, round trip, the fold of several batches, refusals."""

    def fri(self, number: int) -> bytes:
        public_input = keccak256(b"batch %d" % number)
        return attestation.encode(attestation.sign(number, public_input, WORKER_KEY))

    def test_golden(self):
        """One batch: the aggregate is ``shr32(pi)``; the tail holds format, v, first, last."""
        signed = snark.aggregate(7, 7, [self.fri(7)], WORKER_KEY)
        data = signed.encode()
        pi = keccak256(b"batch 7")
        self.assertEqual(data[:32], bytes(4) + pi[:28])
        self.assertEqual(data[32:96], signed.signature[:64])
        self.assertEqual(
            data[96:].hex(),
            "02" + signed.signature[64:].hex() + "00" * 14 + "0000000000000007" * 2,
        )
        self.assertEqual(
            keccak256(data).hex(),
            "2910882d559094051f4ee25feeacdc0df6e63a01d6daeaf99dd44fbe1d2c82ec",
        )

    def test_round_trip_and_signer(self):
        signed = snark.aggregate(3, 5, [self.fri(n) for n in (3, 4, 5)], WORKER_KEY)
        decoded = snark.decode(signed.encode())
        self.assertEqual(decoded, signed)
        self.assertEqual(decoded.signer(), WORKER)

    def test_fold_is_the_l1_public_input(self):
        """Batches 3-5: the aggregate is the reference's accumulation (§7.2), as calldata
        computes it from the stored batch infos."""
        inputs = [keccak256(b"batch %d" % n) for n in (3, 4, 5)]
        acc = int.from_bytes(inputs[0], "big") >> 32
        for pi in inputs[1:]:
            folded = acc.to_bytes(32, "big") + (int.from_bytes(pi, "big") >> 32).to_bytes(32, "big")
            acc = int.from_bytes(keccak256(folded), "big") >> 32
        signed = snark.aggregate(3, 5, [self.fri(n) for n in (3, 4, 5)], WORKER_KEY)
        self.assertEqual(signed.aggregate, acc.to_bytes(32, "big"))

    def test_decode_refusals(self):
        data = snark.aggregate(7, 7, [self.fri(7)], WORKER_KEY).encode()
        for bad, text in (
            (data[:-1], "expected 128 bytes, got 127"),
            (data[:96] + b"\x01" + data[97:], "unknown SNARK aggregate format 1"),
            (data[:97] + b"\x02" + data[98:], "malformed tail word"),
            (data[:100] + b"\x01" + data[101:], "malformed tail word"),
        ):
            with self.assertRaises(snark.AggregationError) as e:
                snark.decode(bad)
            self.assertIn(text, str(e.exception))
