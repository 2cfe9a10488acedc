"""``FriJobs``: the FRI job queue that real and fake provers share (reference §5.2).

Sealed batches wait in the batcher's output queue and are taken from it only when a prover picks
one. ``pick(min_age)``:

1. if an assigned job is older than ``job_timeout`` (300 s), the smallest such batch is given
   out again and its assignment time reset;
2. else, if ``max(assigned) - min(assigned) >= max_assigned_batch_range`` (10), nothing;
3. else the head of the queue, if it has been in the stage (since ``BatchSealed``) at least
   ``min_age`` (0 for real provers, ``fake_fri_provers_min_age`` for fakes), is assigned —
   once ``prover_input(envelope)`` has its bytes (``None``: still being built, nothing yet).

``submit`` (real proofs): the batch must be assigned (``UnknownBlock``); the
``IFriProofVerifier`` must accept it (``DeserializationFailed`` / ``VerificationFailed``); the output needs a free slot
(``Backpressure``, the job stays assigned). A duplicate that passed verification while another
submit removed the job is accepted; a later one is ``UnknownBlock``. ``submit_fake`` skips the
verification and waits for room downstream.
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
    ):
        self.input = input
        self.output = output
        self._clock = clock
        self._verifier = IFriProofVerifier(verifier if verifier is not None else RefuseRealProofs())
        self._prover_input = prover_input
        self.job_timeout = job_timeout
        self.max_assigned_batch_range = max_assigned_batch_range
        self._assigned: dict[int, FriJob] = {}

    def pick(self, min_age: float = 0.0) -> FriJob | None:
        """The next job for a prover, or None (see the module docstring)."""
        now = self._clock.seconds()
        expired = [
            n for n, job in self._assigned.items() if now - job.assigned_at > self.job_timeout
        ]
        if expired:
            job = self._assigned[min(expired)]
            self.log.info("FRI job {n} timed out, reassigned", n=job.number)
            job.assigned_at = now
            return job
        if self._assigned and max(self._assigned) - min(self._assigned) >= (
            self.max_assigned_batch_range
        ):
            return None
        head = self.input.peek()
        if head is None or now - head.stage_times.get(BATCH_SEALED, now) < min_age:
            return None
        data = self._prover_input(head)
        if data is None:
            return None  # the input is still being built: nothing to give out yet
        taken: list[BatchEnvelope] = []
        self.input.get().addCallback(taken.append)  # fires now: the queue holds ``head``
        envelope = taken[0]
        envelope.stage_times.setdefault(FRI_PROVER_PICKED, now)
        job = FriJob(envelope, data, now)
        self._assigned[job.number] = job
        return job

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

    async def submit(self, batch_number: int, proof: bytes) -> None:
        """Accept a real proof of ``batch_number`` or raise a ``FriJobError``."""
        job = self._assigned.get(batch_number)
        if job is None:
            raise UnknownBlock()
        try:
            await defer.maybeDeferred(self._verifier.verify, job.envelope.batch, proof)
        except AttestationDecodeError as e:
            raise DeserializationFailed(str(e)) from None
        except ProofRejected as e:
            self.log.warn("FRI proof of batch {n} rejected: {e}", n=batch_number, e=str(e))
            raise VerificationFailed() from None
        if batch_number not in self._assigned:
            return  # a racing duplicate: the other submit already passed the proof on
        if self.output.closed:
            raise ShuttingDown()
        if len(self.output) >= self.output.capacity:
            raise Backpressure()
        job = self._assigned.pop(batch_number)
        self._emit(job, Proof(False, proof, PROVING_EXECUTION_VERSION), FRI_PROVED_REAL)

    async def submit_fake(self, batch_number: int) -> None:
        """A fake prover's result: no verification; waits for room downstream."""
        job = self._assigned.pop(batch_number, None)
        if job is None:
            raise UnknownBlock()
        await self._emit(job, Proof.fake_proof(), FRI_PROVED_FAKE)

    def _emit(self, job: FriJob, proof: Proof, stage: str) -> defer.Deferred:
        times = dict(job.envelope.stage_times)
        times[stage] = self._clock.seconds()
        return self.output.put(BatchEnvelope(job.envelope.batch, proof, times))
