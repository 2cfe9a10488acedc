"""The prover API's HTTP routes (reference §5.1), a Klein app on ``prover_api_address`` (3124).

| route | answer |
|---|---|
| ``GET /prover-jobs/status`` | 200 ``[{"batch_number", "assigned_seconds_ago"}]`` by batch |
| ``POST /prover-jobs/FRI/pick`` | 200 ``{"block_number", "prover_input"}``; 204 |
| ``POST /prover-jobs/FRI/submit?id=`` | 204; 400 / 404 / 500 with the job queue's text |
| ``GET /prover-jobs/FRI/{batch}/peek`` | 200 as pick if assigned; 204 |
| ``POST /prover-jobs/SNARK/pick`` | 200 ``{"block_number_from", "block_number_to", "fri_proofs"}``; 204 |
| ``POST /prover-jobs/SNARK/submit`` | 204; 400 ``proof rejected: <reason>`` |
| ``GET /prover-jobs/SNARK/{from}/{to}/peek`` | 200 as SNARK pick, from proof storage; 400; 404 |

``block_number`` fields carry batch numbers (the reference's legacy naming). Bytes are standard
base64 with padding. Bodies over 10 MiB are refused with 413 before they are parsed (``ProverApiSite``
refuses an announced or chunked one before reading it); a body that
is not JSON is 400, JSON of the wrong shape 422 (axum's ``Json`` rejections). ``id`` defaults to
``unknown_prover`` and labels logs and ``prover_prove_time_seconds``. Errors are plain text, as the reference's.
"""

from __future__ import annotations

import base64
import binascii
import json

from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger

from zkos_tw.interfaces import IProofStorage
from zkos_tw.prover_api.fri_jobs import FriJob, FriJobError, FriJobs
from zkos_tw.prover_api.snark_jobs import SnarkJobs, SnarkProofRejected

#: The reference's request body limit.
MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_PROVER_ID = "unknown_prover"
TOO_LARGE = "Failed to buffer the request body: length limit exceeded"


class HttpError(Exception):
    """An answer other than 200: status code and plain-text body."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text) -> bytes:
    if not isinstance(text, str):
        raise HttpError(422, "Failed to deserialize the JSON body into the target type: proof")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise HttpError(400, f"invalid base64: {e}") from None


def read_json(request, fields: tuple[str, ...]) -> dict:
    """The JSON object body with ``fields`` (u64 unless named ``proof``), size-limited first."""
    body = request.content.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise HttpError(413, TOO_LARGE)
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise HttpError(400, f"Failed to parse the request body as JSON: {e}") from None
    if not isinstance(value, dict):
        raise HttpError(422, "Failed to deserialize the JSON body into the target type")
    for name in fields:
        item = value.get(name)
        ok = (
            isinstance(item, str)
            if name == "proof"
            else isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 2**64
        )
        if not ok:
            raise HttpError(
                422, f"Failed to deserialize the JSON body into the target type: {name}"
            )
    return value


class ProverApi:
    """The Klein app over a ``FriJobs``, a ``SnarkJobs`` and the proof storage."""

    app = Klein()
    log = Logger()

    def __init__(self, fri_jobs: FriJobs, snark_jobs: SnarkJobs, proof_storage: IProofStorage):
        self.fri_jobs = fri_jobs
        self.snark_jobs = snark_jobs
        self.proof_storage = proof_storage

    @staticmethod
    def _json(request, value) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(value).encode()

    @staticmethod
    def _no_content(request) -> bytes:
        request.setResponseCode(204)
        return b""

    def _fri_job(self, request, job: FriJob | None) -> bytes:
        if job is None:
            return self._no_content(request)
        return self._json(
            request, {"block_number": job.number, "prover_input": b64(job.prover_input)}
        )

    @app.route("/prover-jobs/status", methods=["GET"])
    def status(self, request):
        return self._json(
            request,
            [{"batch_number": n, "assigned_seconds_ago": ago} for n, ago in self.fri_jobs.status()],
        )

    @app.route("/prover-jobs/FRI/pick", methods=["POST"])
    def fri_pick(self, request):
        return self._fri_job(request, self.fri_jobs.pick(0.0))

    @app.route("/prover-jobs/FRI/<int:batch>/peek", methods=["GET"])
    def fri_peek(self, request, batch):
        return self._fri_job(request, self.fri_jobs.peek(batch))

    @app.route("/prover-jobs/FRI/submit", methods=["POST"])
    def fri_submit(self, request):
        return defer.ensureDeferred(self._fri_submit(request))

    async def _fri_submit(self, request):
        prover = request.args.get(b"id", [DEFAULT_PROVER_ID.encode()])[0].decode(errors="replace")
        value = read_json(request, ("block_number", "proof"))
        proof = unb64(value["proof"])
        try:
            await self.fri_jobs.submit(value["block_number"], proof, prover)
        except FriJobError as e:
            self.log.info(
                "FRI proof of batch {n} from {prover}: {e}",
                n=value["block_number"],
                prover=prover,
                e=str(e),
            )
            raise HttpError(e.code, str(e)) from None
        self.log.info(
            "FRI proof of batch {n} from {prover} accepted", n=value["block_number"], prover=prover
        )
        request.setResponseCode(204)
        return b"proof accepted"

    @app.route("/prover-jobs/SNARK/pick", methods=["POST"])
    def snark_pick(self, request):
        return defer.ensureDeferred(self._snark_pick(request))

    async def _snark_pick(self, request):
        batches = await self.snark_jobs.pick_real_job()
        if not batches:
            return self._no_content(request)
        return self._snark_job(request, batches)

    def _snark_job(self, request, batches) -> bytes:
        return self._json(
            request,
            {
                "block_number_from": batches[0].number,
                "block_number_to": batches[-1].number,
                "fri_proofs": [b64(e.fri_proof.data) for e in batches],
            },
        )

    @app.route("/prover-jobs/SNARK/submit", methods=["POST"])
    def snark_submit(self, request):
        return defer.ensureDeferred(self._snark_submit(request))

    async def _snark_submit(self, request):
        prover = request.args.get(b"id", [DEFAULT_PROVER_ID.encode()])[0].decode(errors="replace")
        value = read_json(request, ("block_number_from", "block_number_to", "proof"))
        proof = unb64(value["proof"])
        try:
            await self.snark_jobs.submit_proof(
                value["block_number_from"], value["block_number_to"], proof, prover
            )
        except SnarkProofRejected as e:
            raise HttpError(400, f"proof rejected: {e}") from None
        return self._no_content(request)

    @app.route("/prover-jobs/SNARK/<int:first>/<int:last>/peek", methods=["GET"])
    def snark_peek(self, request, first, last):
        if first > last:
            raise HttpError(400, f"invalid range: {first} > {last}")
        batches = []
        for n in range(first, last + 1):
            envelope = self.proof_storage.get(n)
            if envelope is None:
                raise HttpError(404, f"batch {n} not found in proof storage")
            if envelope.fri_proof is None or envelope.fri_proof.fake:
                raise HttpError(400, f"batch {n} has a fake FRI proof")
            batches.append(envelope)
        return self._snark_job(request, batches)

    @app.handle_errors(HttpError)
    def _http_error(self, request, failure):
        request.setResponseCode(failure.value.code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return str(failure.value).encode()

    @app.handle_errors
    def _other_error(self, request, failure):
        from werkzeug.exceptions import HTTPException

        if isinstance(failure.value, HTTPException):
            request.setResponseCode(failure.value.code)
            return failure.value.description.encode() if failure.value.description else b""
        self.log.failure("prover API request failed", failure)
        request.setResponseCode(500)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return str(failure.value).encode()
