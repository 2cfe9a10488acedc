"""``SnarkJobs``: the SNARK job queue over committed batches (reference §5.3).

``pick_real_job()`` first turns every batch with a *fake* FRI proof at the head of the queue into
fake SNARK ``ProofCommand``s (at most ``max_fris_per_snark`` per command), then *peeks* (takes
nothing) up to ``max_fris_per_snark`` consecutive batches with real FRI proofs, cut where the
``proving_execution_version`` changes. There is no assignment: several provers may get the same
range. ``submit_proof(first, last, proof)`` needs the queue's head to be ``first`` and the
``last - first + 1`` batches up to ``last`` queued; the SNARK proof is not verified (neither
does the reference); the batches leave in one real ``ProofCommand``. Refusals are
``SnarkProofRejected``, whose text the API answers with 400 ``proof rejected: <reason>``.
With ``metrics`` (a ``ProverMetrics``) real picks, accepted proofs (time since the range was
first picked) and refusals are counted.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

from zkos_tw.batcher.info import BatchEnvelope, Proof, ProofCommand
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.prover_api.metrics import ProverMetrics

SNARK_PROVER_PICKED = "SnarkProverPicked"
SNARK_PROVED_REAL = "SnarkProvedReal"
SNARK_PROVED_FAKE = "SnarkProvedFake"


class SnarkProofRejected(Exception):
    """A refused SNARK submit; ``str()`` is the reason."""


def _fake(envelope: BatchEnvelope) -> bool:
    return envelope.fri_proof is None or envelope.fri_proof.fake


class SnarkJobs:
    """The SNARK job queue between ``input`` (committed batches) and ``output`` (commands)."""

    def __init__(
        self,
        *,
        input: BoundedQueue,
        output: BoundedQueue,
        clock: IReactorTime,
        max_fris_per_snark: int = 10,
        metrics: ProverMetrics | None = None,
    ):
        self.input = input
        self.output = output
        self._clock = clock
        self.max_fris_per_snark = max_fris_per_snark
        self._metrics = metrics

    async def pick_real_job(self) -> list[BatchEnvelope] | None:
        """The real-FRI batches a SNARK prover should aggregate now, or None."""
        await self._fake_head()
        batches = []
        for envelope in self.input.peek_many(self.max_fris_per_snark):
            if _fake(envelope):
                break
            if batches and (
                envelope.number != batches[-1].number + 1
                or envelope.fri_proof.proving_execution_version
                != batches[0].fri_proof.proving_execution_version
            ):
                break
            batches.append(envelope)
        if not batches:
            return None
        now = self._clock.seconds()
        for envelope in batches:
            envelope.stage_times.setdefault(SNARK_PROVER_PICKED, now)
        if self._metrics is not None:
            self._metrics.jobs_assigned.labels(stage="snark", type="real").inc()
        return batches

    async def _fake_head(self) -> None:
        while (head := self.input.peek()) is not None and _fake(head):
            batches = []
            while len(batches) < self.max_fris_per_snark:
                head = self.input.peek()
                if head is None or not _fake(head):
                    break
                batches.append(await self.input.get())
            await self._emit(batches, Proof.fake_proof(), SNARK_PROVED_FAKE)

    async def submit_proof(
        self, first: int, last: int, proof: bytes, prover: str = "unknown_prover"
    ) -> None:
        """Accept a SNARK proof of batches ``first..=last``; ``SnarkProofRejected`` if not."""
        try:
            batches = self._take_range(first, last)
        except SnarkProofRejected:
            if self._metrics is not None:
                self._metrics.rejected_proofs.labels(stage="snark", reason="range").inc()
            raise
        version = batches[0].fri_proof.proving_execution_version if batches[0].fri_proof else 2
        batches = [await self.input.get() for _ in batches]
        if self._metrics is not None:
            picked = batches[0].stage_times.get(SNARK_PROVER_PICKED, self._clock.seconds())
            txs = sum(e.batch.tx_count for e in batches)
            self._metrics.proved("snark", "real", prover, self._clock.seconds() - picked, txs)
        await self._emit(batches, Proof(False, proof, version), SNARK_PROVED_REAL)

    def _take_range(self, first: int, last: int) -> list[BatchEnvelope]:
        """The queued envelopes ``first..=last`` a submit may take (not taken yet)."""
        head = self.input.peek()
        if head is None:
            raise SnarkProofRejected("No pending batches to prove")
        if head.number != first or last < first:
            raise SnarkProofRejected(
                f"Batch range error. Expected first batch: {head.number}, received: {first}-{last}"
            )
        queued = [e for e in self.input.peek_many(last - first + 1) if e.number <= last]
        if len(queued) != last - first + 1:
            raise SnarkProofRejected(
                f"Batch range error. Only {len(queued)} of batches {first}-{last} are pending"
            )
        return queued

    async def _emit(self, batches: list[BatchEnvelope], proof: Proof, stage: str) -> None:
        now = self._clock.seconds()
        for envelope in batches:
            envelope.stage_times[stage] = now
        await self.output.put(ProofCommand(tuple(batches), proof))
