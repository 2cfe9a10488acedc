"""``FriJobs``: the FRI job queue that real and fake provers share (reference §5.2).

Sealed batches wait in the batcher's output queue and are taken from it only when a prover picks
one. ``pick(min_age, with_input=True)``:

1. if an assigned job is older than ``job_timeout`` (300 s), the smallest such batch is given
   out again and its assignment time reset (a real prover taking over a fake's job waits for
   its prover input like a new job);
2. else, if ``max(assigned) - min(assigned) >= max_assigned_batch_range`` (10), nothing;
3. else the head of the queue, if it has been in the stage (since ``BatchSealed``) at least
   ``min_age`` (0 for real provers, ``fake_fri_provers_min_age`` for fakes), is assigned —
   once ``prover_input(envelope)`` has its bytes (``None``: still being built, nothing yet).
   Fake provers pick ``with_input=False``: they need no input, so none is built for them.

``submit`` (real proofs): the batch must be assigned (``UnknownBlock``); the
``IFriProofVerifier`` must accept it (``DeserializationFailed`` / ``VerificationFailed``); the output needs a free slot
(``Backpressure``, the job stays assigned). A duplicate that passed verification while another
submit removed the job is accepted; a later one is ``UnknownBlock``. ``submit_fake`` skips the
verification and waits for room downstream. With ``metrics`` (a ``ProverMetrics``) picks,
accepted proofs (time since assignment) and refusals are counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

from zkos_tw.batcher.info import BatchEnvelope, BatchMetadata, Proof
from zkos_tw.batcher.service import BATCH_SEALED
from zkos_tw.interfaces import IFriProofVerifier
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.prover_api.attestation import AttestationDecodeError, ProofRejected
from zkos_tw.prover_api.metrics import ProverMetrics

FRI_PROVER_PICKED = "FriProverPicked"
FRI_PROVED_REAL = "FriProvedReal"
FRI_PROVED_FAKE = "FriProvedFake"
#: ``FriProof::Real(V2{.., proving_execution_version = 3})``.
PROVING_EXECUTION_VERSION = 3


class FriJobError(Exception):
    """A refused submit; ``code`` and ``str()`` are the HTTP status and body (§5.1)."""

    code = 500


class UnknownBlock(FriJobError):
    code = 404

    def __init__(self):
        super().__init__("unknown block")


class DeserializationFailed(FriJobError):
    code = 400

    def __init__(self, reason: str):
        super().__init__(f"deserialization failed: {reason}")


class VerificationFailed(FriJobError):
    code = 400

    def __init__(self):
        super().__init__("proof verification failed")


class Backpressure(FriJobError):
    def __init__(self):
        super().__init__("downstream backpressure")


class ShuttingDown(FriJobError):
    def __init__(self):
        super().__init__("server is shutting down")


@implementer(IFriProofVerifier)
class RefuseRealProofs:
    """The verifier of a node that takes no real FRI proofs."""

    def verify(self, batch: BatchMetadata, proof: bytes) -> None:
        raise ProofRejected("this node accepts no real FRI proofs")


@dataclass
class FriJob:
    """One assigned batch: its envelope, the prover input served, when it was (re)assigned."""

    envelope: BatchEnvelope
    prover_input: bytes
    assigned_at: float

    @property
    def number(self) -> int:
        return self.envelope.number


class FriJobs:
    """The FRI job queue between ``input`` (sealed batches) and ``output`` (proved ones)."""

    log = Logger()

    def __init__(
        self,
        *,
        input: BoundedQueue,
        output: BoundedQueue,
        clock: IReactorTime,
        verifier: IFriProofVerifier | None = None,
        prover_input: Callable[[BatchEnvelope], bytes | None] = lambda envelope: b"",
        job_timeout: float = 300.0,
        max_assigned_batch_range: int = 10,
        metrics: ProverMetrics | None = None,
    ):
        self.input = input
        self.output = output
        self._clock = clock
        self._verifier = IFriProofVerifier(verifier if verifier is not None else RefuseRealProofs())
        self._prover_input = prover_input
        self.job_timeout = job_timeout
        self.max_assigned_batch_range = max_assigned_batch_range
        self._assigned: dict[int, FriJob] = {}
        self._metrics = metrics

    def pick(self, min_age: float = 0.0, with_input: bool = True) -> FriJob | None:
        """The next job for a prover, or None (see the module docstring)."""
        now = self._clock.seconds()
        expired = [
            n for n, job in self._assigned.items() if now - job.assigned_at > self.job_timeout
        ]
        if expired:
            job = self._assigned[min(expired)]
            if with_input and not job.prover_input:
                data = self._prover_input(job.envelope)
                if data is None:
                    return None  # a fake's job: its input is being built for this prover
                job.prover_input = data
            self.log.info("FRI job {n} timed out, reassigned", n=job.number)
            job.assigned_at = now
            self._count_pick(with_input)
            return job
        if self._assigned and max(self._assigned) - min(self._assigned) >= (
            self.max_assigned_batch_range
        ):
            return None
        head = self.input.peek()
        if head is None or now - head.stage_times.get(BATCH_SEALED, now) < min_age:
            return None
        data = self._prover_input(head) if with_input else b""
        if data is None:
            return None  # the input is still being built: nothing to give out yet
        taken: list[BatchEnvelope] = []
        self.input.get().addCallback(taken.append)  # fires now: the queue holds ``head``
        envelope = taken[0]
        envelope.stage_times.setdefault(FRI_PROVER_PICKED, now)
        job = FriJob(envelope, data, now)
        self._assigned[job.number] = job
        self._count_pick(with_input)
        return job

    def _count_pick(self, real: bool) -> None:
        if self._metrics is not None:
            self._metrics.jobs_assigned.labels(stage="fri", type="real" if real else "fake").inc()

    def _rejected(self, reason: str) -> None:
        if self._metrics is not None:
            self._metrics.rejected_proofs.labels(stage="fri", reason=reason).inc()

    def _proved(self, job: FriJob, kind: str, prover: str) -> None:
        if self._metrics is not None:
            seconds = self._clock.seconds() - job.assigned_at
            self._metrics.proved("fri", kind, prover, seconds, job.envelope.batch.tx_count)

    def peek(self, batch_number: int) -> FriJob | None:
        """The job for ``batch_number`` if it is assigned now."""
        return self._assigned.get(batch_number)

    def status(self) -> list[tuple[int, int]]:
        """``(batch_number, whole seconds since assigned)`` of every assigned job, by batch."""
        now = self._clock.seconds()
        return [(n, int(now - job.assigned_at)) for n, job in sorted(self._assigned.items())]

    def head_ready_in(self, min_age: float) -> float | None:
        """Seconds until the waiting head batch is ``min_age`` old (<= 0: now); None if none."""
        head = self.input.peek()
        if head is None:
            return None
        now = self._clock.seconds()
        return head.stage_times.get(BATCH_SEALED, now) + min_age - now

    async def submit(self, batch_number: int, proof: bytes, prover: str = "unknown_prover") -> None:
        """Accept a real proof of ``batch_number`` from ``prover`` or raise a ``FriJobError``."""
        job = self._assigned.get(batch_number)
        if job is None:
            raise UnknownBlock()
        try:
            await defer.maybeDeferred(self._verifier.verify, job.envelope.batch, proof)
        except AttestationDecodeError as e:
            self._rejected("deserialization")
            raise DeserializationFailed(str(e)) from None
        except ProofRejected as e:
            self._rejected("verification")
            self.log.warn(
                "FRI proof of batch {n} from {prover} rejected: {e}",
                n=batch_number,
                prover=prover,
                e=str(e),
            )
            raise VerificationFailed() from None
        if batch_number not in self._assigned:
            return  # a racing duplicate: the other submit already passed the proof on
        if self.output.closed:
            raise ShuttingDown()
        if len(self.output) >= self.output.capacity:
            raise Backpressure()
        job = self._assigned.pop(batch_number)
        self._proved(job, "real", prover)
        self._emit(job, Proof(False, proof, PROVING_EXECUTION_VERSION), FRI_PROVED_REAL)

    async def submit_fake(self, batch_number: int) -> None:
        """A fake prover's result: no verification; waits for room downstream."""
        job = self._assigned.pop(batch_number, None)
        if job is None:
            raise UnknownBlock()
        self._proved(job, "fake", "fake_fri_prover")
        await self._emit(job, Proof.fake_proof(), FRI_PROVED_FAKE)

    def _emit(self, job: FriJob, proof: Proof, stage: str) -> defer.Deferred:
        times = dict(job.envelope.stage_times)
        times[stage] = self._clock.seconds()
        return self.output.put(BatchEnvelope(job.envelope.batch, proof, times))
