"""The prover API routes over ``StubTreq``: shapes, status codes, base64, error texts, the body
limit and the SNARK peek from proof storage."""

import base64
import json

from treq.testing import StubTreq
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.prover_api.helpers import WORKER, good_proof, sealed
from tests.prover_api.test_snark_jobs import committed
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.prover_api.attestation import AttestationVerifier
from zkos_tw.prover_api.fri_jobs import FriJobs
from zkos_tw.prover_api.server import MAX_BODY_BYTES, ProverApi
from zkos_tw.prover_api.snark_jobs import SnarkJobs
from zkos_tw.testing.memory_proof_storage import MemoryProofStorage

BASE = "http://prover/prover-jobs"


class ServerTestBase(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.sealed = BoundedQueue(20)
        self.proved = BoundedQueue(20)
        self.committed = BoundedQueue(20)
        self.commands = BoundedQueue(20)
        self.storage = MemoryProofStorage()
        self.fri = FriJobs(
            input=self.sealed,
            output=self.proved,
            clock=self.clock,
            verifier=AttestationVerifier([WORKER]),
            prover_input=lambda e: e.number.to_bytes(4, "little") + b"\x01\0\0\0",
        )
        self.snark = SnarkJobs(input=self.committed, output=self.commands, clock=self.clock)
        self.treq = StubTreq(ProverApi(self.fri, self.snark, self.storage).app.resource())

    def call(self, method, path, body=None, raw=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        response = self.successResultOf(self.treq.request(method, BASE + path, data=data))
        text = self.successResultOf(response.content())
        return response.code, text

    def json(self, method, path, body=None):
        code, text = self.call(method, path, body)
        self.assertEqual(code, 200, text)
        return json.loads(text)


class FriRouteTests(ServerTestBase):
    def test_pick_shape_and_status(self):
        """Pick gives the batch and its input in base64; status lists it; peek repeats it."""
        self.sealed.put(sealed(1))
        job = self.json("POST", "/FRI/pick")
        self.assertEqual(job["block_number"], 1)
        self.assertEqual(base64.b64decode(job["prover_input"]), b"\x01\0\0\0\x01\0\0\0")
        self.clock.advance(12.5)
        self.assertEqual(
            self.json("GET", "/status"), [{"batch_number": 1, "assigned_seconds_ago": 12}]
        )
        self.assertEqual(self.json("GET", "/FRI/1/peek"), job)

    def test_nothing_to_do_is_204(self):
        self.assertEqual(self.call("POST", "/FRI/pick"), (204, b""))
        self.assertEqual(self.call("GET", "/FRI/7/peek"), (204, b""))
        self.assertEqual(self.json("GET", "/status"), [])

    def pick_one(self):
        env = sealed(1)
        self.sealed.put(env)
        self.json("POST", "/FRI/pick")
        return env

    def submit(self, proof, number=1, prover="w1"):
        body = {"block_number": number, "proof": base64.b64encode(proof).decode()}
        return self.call("POST", f"/FRI/submit?id={prover}", body)

    def test_submit_accepted(self):
        env = self.pick_one()
        self.assertEqual(self.submit(good_proof(env)), (204, b""))
        self.assertEqual(self.successResultOf(self.proved.get()).fri_proof.data, good_proof(env))
        self.assertEqual(self.json("GET", "/status"), [])

    def test_submit_unknown_block(self):
        env = sealed(1)
        self.assertEqual(self.submit(good_proof(env)), (404, b"unknown block"))

    def test_submit_bad_proofs(self):
        """Undecodable and wrong proofs are 400 with the reference's texts; the job stays."""
        env = self.pick_one()
        code, text = self.submit(b"garbage")
        self.assertEqual(code, 400)
        self.assertTrue(text.startswith(b"deserialization failed: "), text)
        other = sealed(2)
        self.assertEqual(self.submit(good_proof(other)), (400, b"proof verification failed"))
        self.assertEqual(len(self.json("GET", "/status")), 1)
        self.assertEqual(self.submit(good_proof(env))[0], 204)

    def test_invalid_base64(self):
        self.pick_one()
        code, text = self.call("POST", "/FRI/submit", {"block_number": 1, "proof": "@@@"})
        self.assertEqual(code, 400)
        self.assertTrue(text.startswith(b"invalid base64: "), text)

    def test_bad_bodies(self):
        self.assertEqual(self.call("POST", "/FRI/submit", raw=b"{nope")[0], 400)
        self.assertEqual(self.call("POST", "/FRI/submit", {"block_number": "1"})[0], 422)
        self.assertEqual(self.call("POST", "/FRI/submit", [1])[0], 422)

    def test_body_limit(self):
        """A body over 10 MiB is 413 before it is parsed."""
        code, text = self.call("POST", "/FRI/submit", raw=b" " * (MAX_BODY_BYTES + 1))
        self.assertEqual(code, 413)
        self.assertIn(b"length limit exceeded", text)

    def test_backpressure_is_500(self):
        self.proved = BoundedQueue(1)
        self.fri.output = self.proved
        self.proved.put(sealed(9))
        env = self.pick_one()
        self.assertEqual(self.submit(good_proof(env)), (500, b"downstream backpressure"))

    def test_wrong_method_and_path(self):
        self.assertEqual(self.call("GET", "/FRI/pick")[0], 405)
        self.assertEqual(self.call("GET", "/FRI/x/peek")[0], 404)


class SnarkRouteTests(ServerTestBase):
    def test_pick_shape(self):
        self.committed.put(committed(1))
        self.committed.put(committed(2))
        job = self.json("POST", "/SNARK/pick")
        self.assertEqual((job["block_number_from"], job["block_number_to"]), (1, 2))
        self.assertEqual([base64.b64decode(p) for p in job["fri_proofs"]], [b"\1" * 3, b"\2" * 3])

    def test_pick_nothing(self):
        self.assertEqual(self.call("POST", "/SNARK/pick"), (204, b""))

    def test_submit(self):
        self.committed.put(committed(1))
        body = {"block_number_from": 1, "block_number_to": 1, "proof": "c25hcms="}
        self.assertEqual(self.call("POST", "/SNARK/submit", body), (204, b""))
        self.assertEqual(self.successResultOf(self.commands.get()).proof.data, b"snark")

    def test_submit_range_error(self):
        self.committed.put(committed(1))
        body = {"block_number_from": 2, "block_number_to": 3, "proof": ""}
        self.assertEqual(
            self.call("POST", "/SNARK/submit", body),
            (400, b"proof rejected: Batch range error. Expected first batch: 1, received: 2-3"),
        )
        self.committed = BoundedQueue(2)
        self.snark.input = self.committed
        self.assertEqual(
            self.call("POST", "/SNARK/submit", body),
            (400, b"proof rejected: No pending batches to prove"),
        )

    def test_peek_from_storage(self):
        for n in (1, 2, 3):
            self.storage.put(committed(n, fake=n == 3))
        job = self.json("GET", "/SNARK/1/2/peek")
        self.assertEqual((job["block_number_from"], job["block_number_to"]), (1, 2))
        self.assertEqual(len(job["fri_proofs"]), 2)
        self.assertEqual(self.call("GET", "/SNARK/2/1/peek")[0], 400)
        self.assertEqual(self.call("GET", "/SNARK/2/3/peek")[0], 400)  # 3 is fake
        self.assertEqual(self.call("GET", "/SNARK/4/5/peek")[0], 404)


class ErrorsTests(ServerTestBase):
    def test_storage_error_is_500(self):
        def broken(n):
            raise OSError("disk gone")

        self.storage.get = broken
        code, text = self.call("GET", "/SNARK/1/1/peek")
        self.assertEqual((code, text), (500, b"disk gone"))
        self.flushLoggedErrors(OSError)

    def test_snark_pick_internal_error_is_500(self):
        self.snark.pick_real_job = lambda: defer.fail(RuntimeError("boom"))
        self.assertEqual(self.call("POST", "/SNARK/pick")[0], 500)
        self.flushLoggedErrors(RuntimeError)
