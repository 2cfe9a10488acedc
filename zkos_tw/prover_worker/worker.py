"""``ProverWorker``: the loop of a prover process (``zkosctl prover``) against a prover API.

FRI mode, per job (reference §5.1, §5.4):

1. ``POST /prover-jobs/FRI/pick`` (204: nothing to do, wait ``poll_interval``);
2. ``prove_batch(prover_input)``: the batch re-executed from its input alone (no database);
3. sign the public input (``attestation.sign``) and ``POST /prover-jobs/FRI/submit?id=NAME``.

SNARK mode: ``POST /prover-jobs/SNARK/pick``, aggregate the FRI attestations of the range
(``snark.aggregate``) and ``POST /prover-jobs/SNARK/submit?id=NAME``.

Each job is logged with its timings (re-execution, gas/s, blocks/s, submit); ``results`` keeps
them. A job that does not prove (a bad input, a refused submit) is logged and left: the server
gives it out again after its timeout. An unreachable API is retried every ``poll_interval``.
The HTTP client (treq's API) and the clock are injected; with ``metrics`` (a
``WorkerMetrics``) re-execution speed and job outcomes are counted.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

from twisted.internet import task
from twisted.logger import Logger

from zkos_tw.prover_api import attestation
from zkos_tw.prover_api import prover_input as pi
from zkos_tw.prover_api.stateless import BatchProof, prove_batch
from zkos_tw.prover_worker import snark
from zkos_tw.prover_worker.metrics import WorkerMetrics
from zkos_tw.sequencer.commands import ReplayDivergence


@dataclass(frozen=True)
class JobResult:
    """One job this worker did: what it proved and how the server answered."""

    stage: str  # "fri" | "snark"
    first: int
    last: int
    input_bytes: int
    proof: BatchProof | None  # FRI only
    prove_seconds: float
    submit_seconds: float
    code: int
    answer: str

    @property
    def accepted(self) -> bool:
        return self.code == 204


class ProverWorker:
    """Picks, proves and submits jobs of one stage until stopped (or ``max_jobs`` done)."""

    log = Logger()

    def __init__(
        self,
        api_url: str,
        *,
        http,
        clock,
        private_key: bytes,
        prover_id: str = "unknown_prover",
        snark_mode: bool = False,
        poll_interval: float = 0.25,
        min_job_time: float = 0.0,
        metrics: WorkerMetrics | None = None,
    ):
        self.api_url = api_url.rstrip("/")
        self._http = http
        self._clock = clock
        self._key = private_key
        self.prover_id = prover_id
        self.snark_mode = snark_mode
        self.poll_interval = poll_interval
        self.min_job_time = min_job_time
        self.results: list[JobResult] = []
        self._metrics = metrics
        self._unreachable = False

    @property
    def address(self) -> bytes:
        import coincurve

        return attestation.address_of(coincurve.PrivateKey(self._key).public_key)

    async def run(self, max_jobs: int | None = None) -> None:
        """Work until ``max_jobs`` jobs were done (forever without)."""
        stage = "SNARK" if self.snark_mode else "FRI"
        self.log.info(
            "prover {id} ({stage}) signing as 0x{address} against {url}",
            id=self.prover_id,
            stage=stage,
            address=self.address.hex(),
            url=self.api_url,
        )
        done = 0
        while max_jobs is None or done < max_jobs:
            if await self.step():
                done += 1
            else:
                await task.deferLater(self._clock, self.poll_interval)

    async def step(self) -> bool:
        """One pick and, if a job came, its proof and submit; False when there was no job."""
        try:
            if self.snark_mode:
                return await self._snark_step()
            return await self._fri_step()
        except (ConnectionError, OSError, _Unreachable) as e:
            if not self._unreachable:
                self.log.warn("prover API {url} unreachable: {e}", url=self.api_url, e=e)
            self._unreachable = True
            return False

    async def _post(self, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = b"" if body is None else json.dumps(body).encode()
        try:
            response = await self._http.post(
                self.api_url + path,
                data=data,
                headers={b"content-type": [b"application/json"]},
            )
            content = await response.content()
        except Exception as e:  # noqa: BLE001 - any transport error: retry later
            raise _Unreachable(f"{type(e).__name__}: {e}") from None
        if self._unreachable:
            self.log.info("prover API {url} reachable again", url=self.api_url)
            self._unreachable = False
        return response.code, content

    def _ended(self, stage: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.jobs.labels(stage=stage, result=result).inc()

    async def _pick(self, path: str) -> dict | None:
        code, content = await self._post(path)
        if code == 204:
            return None
        if code != 200:
            self.log.warn(
                "{path}: {code} {text}", path=path, code=code, text=content.decode(errors="replace")
            )
            return None
        return json.loads(content)

    async def _hold(self, started: float) -> None:
        left = self.min_job_time - (time.perf_counter() - started)
        if left > 0:
            await task.deferLater(self._clock, left)

    async def _fri_step(self) -> bool:
        job = await self._pick("/prover-jobs/FRI/pick")
        if job is None:
            return False
        number = job["block_number"]
        data = base64.b64decode(job["prover_input"])
        self.log.info("batch {n}: picked, prover input {size} bytes", n=number, size=len(data))
        started = time.perf_counter()
        try:
            proof = prove_batch(data)
        except (pi.ProverInputError, ReplayDivergence) as e:
            self.log.error("batch {n}: not proved: {e}", n=number, e=e)
            self._ended("fri", "failed")
            return True
        if proof.batch_number != number:
            self.log.error(
                "batch {n}: the input is of batch {m}, not submitted",
                n=number,
                m=proof.batch_number,
            )
            self._ended("fri", "failed")
            return True
        if self._metrics is not None:
            self._metrics.reexecuted(proof, len(data))
        await self._hold(started)
        prove_seconds = time.perf_counter() - started
        signed = attestation.encode(attestation.sign(number, proof.public_input, self._key))
        sent = time.perf_counter()
        code, content = await self._post(
            f"/prover-jobs/FRI/submit?id={self.prover_id}",
            {"block_number": number, "proof": base64.b64encode(signed).decode()},
        )
        result = JobResult(
            "fri",
            number,
            number,
            len(data),
            proof,
            prove_seconds,
            time.perf_counter() - sent,
            code,
            content.decode(errors="replace"),
        )
        self.results.append(result)
        self._ended("fri", "accepted" if result.accepted else "refused")
        seconds = max(proof.seconds, 1e-9)
        self.log.info(
            "batch {n}: {blocks} blocks, {txs} txs, {gas} gas re-executed in {ms:.1f} ms "
            "({mgas:.2f} Mgas/s, {bps:.1f} blocks/s); submit {code} {answer!r} in {sms:.1f} ms",
            n=number,
            blocks=proof.blocks,
            txs=proof.transactions,
            gas=proof.gas_used,
            ms=1000 * proof.seconds,
            mgas=proof.gas_used / seconds / 1e6,
            bps=proof.blocks / seconds,
            code=code,
            answer=result.answer or "proof accepted",
            sms=1000 * result.submit_seconds,
        )
        return True

    async def _snark_step(self) -> bool:
        job = await self._pick("/prover-jobs/SNARK/pick")
        if job is None:
            return False
        first, last = job["block_number_from"], job["block_number_to"]
        fri_proofs = [base64.b64decode(p) for p in job["fri_proofs"]]
        started = time.perf_counter()
        try:
            proof = snark.aggregate(first, last, fri_proofs, self._key).encode()
        except snark.AggregationError as e:
            self.log.error("SNARK {first}-{last}: not aggregated: {e}", first=first, last=last, e=e)
            self._ended("snark", "failed")
            return True
        await self._hold(started)
        prove_seconds = time.perf_counter() - started
        sent = time.perf_counter()
        code, content = await self._post(
            f"/prover-jobs/SNARK/submit?id={self.prover_id}",
            {
                "block_number_from": first,
                "block_number_to": last,
                "proof": base64.b64encode(proof).decode(),
            },
        )
        result = JobResult(
            "snark",
            first,
            last,
            sum(map(len, fri_proofs)),
            None,
            prove_seconds,
            time.perf_counter() - sent,
            code,
            content.decode(errors="replace"),
        )
        self.results.append(result)
        self._ended("snark", "accepted" if result.accepted else "refused")
        self.log.info(
            "SNARK {first}-{last}: {n} FRI proofs aggregated in {ms:.1f} ms; submit {code} "
            "{answer!r} in {sms:.1f} ms",
            first=first,
            last=last,
            n=len(fri_proofs),
            ms=1000 * prove_seconds,
            code=code,
            answer=result.answer,
            sms=1000 * result.submit_seconds,
        )
        return True


class _Unreachable(Exception):
    """The prover API did not answer."""
