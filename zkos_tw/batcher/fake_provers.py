"""The in-process fake FRI and SNARK provers (reference §5.2, §5.3), for nodes without real ones.

``FakeFriProvers`` runs ``fake_fri_provers_workers`` (5) workers. They are clients of the
prover API's ``FriJobs`` (the same job queue real provers use, §5.2): each picks a job with
``min_age`` = ``fake_fri_provers_min_age`` (3 s, so real provers get a head start), "proves" it
for ``fake_fri_provers_compute_time`` (2 s) and submits a fake FRI proof (stage times
``FriProverPicked``, ``FriProvedFake``). With nothing to pick a worker waits for a new batch or
250 ms. Output order is arbitrary; the ``GaplessCommitter`` puts it back in order and stores the
proofs. Given only ``input`` and ``output`` queues, the provers make their own ``FriJobs``.

``FakeSnarkProver`` looks at the head of the committed batches every second. When the head
is ``fake_snark_provers_max_batch_age`` (10 s) old, counted from its first block's timestamp, it
takes batches that have a fake FRI proof or are that old. It takes up to
``max_fris_per_snark`` (10) per fake SNARK ``ProofCommand``, and makes commands until the head
is neither. ``create_fake_provers_from_config`` applies the two ``..._enabled`` switches.
"""

from __future__ import annotations

from twisted.application.internet import TimerService
from twisted.application.service import MultiService, Service
from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from zkos_tw.batcher.info import BatchEnvelope, Proof, ProofCommand
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.prover_api.fri_jobs import FRI_PROVED_FAKE, FRI_PROVER_PICKED, FriJobs, UnknownBlock

__all__ = ["FRI_PROVED_FAKE", "FRI_PROVER_PICKED", "FakeFriProvers", "FakeSnarkProver"]

#: How long an idle fake FRI prover waits before it asks again (the reference's 250 ms).
FRI_IDLE_POLL = 0.25
SNARK_PROVED_FAKE = "SnarkProvedFake"
#: How often the fake SNARK prover looks at its queue (the reference's 1 s).
SNARK_POLL_INTERVAL = 1.0


class FakeFriProvers(Service):
    """``workers`` fake FRI provers between two queues; see the module docstring."""

    log = Logger()
    name = "fake-fri-provers"

    def __init__(
        self,
        *,
        reactor: IReactorTime,
        input: BoundedQueue | None = None,
        output: BoundedQueue | None = None,
        jobs: FriJobs | None = None,
        workers: int = 5,
        compute_time: float = 2.0,
        min_age: float = 3.0,
    ):
        if jobs is None:
            jobs = FriJobs(input=input, output=output, clock=reactor)
        self.jobs = jobs
        self._reactor = reactor
        self.workers = workers
        self.compute_time = compute_time
        self.min_age = min_age
        self._loops: list[defer.Deferred] = []
        self.failure = None

    def startService(self) -> None:
        super().startService()
        for _ in range(self.workers):
            loop = defer.ensureDeferred(self._work())
            loop.addErrback(self._failed)
            self._loops.append(loop)

    def stopService(self):
        super().stopService()
        loops, self._loops = self._loops, []
        for loop in loops:
            loop.cancel()

    def _failed(self, failure):
        if failure.check(defer.CancelledError):
            return None
        self.failure = failure
        self.log.failure("fake FRI prover stopped", failure)
        return None

    async def _work(self) -> None:
        while True:
            job = self.jobs.pick(self.min_age, with_input=False)
            if job is None:
                await self._idle()
                continue
            await task.deferLater(self._reactor, self.compute_time)
            try:
                await self.jobs.submit_fake(job.number)
            except UnknownBlock:
                self.log.debug("batch {n} was proved by another prover", n=job.number)

    def _idle(self) -> defer.Deferred:
        """Wait 250 ms, less if the head batch comes of age sooner, or until a batch arrives."""
        ready_in = self.jobs.head_ready_in(self.min_age)
        delay = FRI_IDLE_POLL if not ready_in or ready_in <= 0 else min(FRI_IDLE_POLL, ready_in)
        poll = task.deferLater(self._reactor, delay)
        if ready_in is not None:
            return poll
        return _first(poll, self.jobs.input.when_nonempty())


def _first(*waits: defer.Deferred) -> defer.Deferred:
    """Fires (with None) when the first of ``waits`` fires; the others are cancelled."""
    out = defer.Deferred(lambda _: [d.cancel() for d in waits])

    def fired(result):
        if not out.called:
            out.callback(None)
        for d in waits:
            d.cancel()
        return None

    for d in waits:
        d.addBoth(fired)
    return out


class FakeSnarkProver(TimerService):
    """Turns committed batches into fake SNARK ``ProofCommand``s; see the module docstring."""

    log = Logger()
    name = "fake-snark-prover"

    def __init__(
        self,
        *,
        input: BoundedQueue,
        output: BoundedQueue,
        reactor: IReactorTime,
        max_batch_age: float = 10.0,
        max_fris_per_snark: int = 10,
    ):
        # The reference looks every 1 s (max age 10 s); a shorter max age (--dev) looks more
        # often, so the poll never dominates the age it waits for.
        super().__init__(min(SNARK_POLL_INTERVAL, max(0.1, max_batch_age / 10)), self._tick)
        self.clock = reactor
        self._input = input
        self._output = output
        self._reactor = reactor
        self.max_batch_age = max_batch_age
        self.max_fris_per_snark = max_fris_per_snark

    def _old(self, envelope: BatchEnvelope) -> bool:
        first = envelope.batch.commit_batch_info.first_block_timestamp
        return self._reactor.seconds() - first >= self.max_batch_age

    def _takeable(self, envelope: BatchEnvelope | None) -> bool:
        if envelope is None:
            return False
        return (envelope.fri_proof is not None and envelope.fri_proof.fake) or self._old(envelope)

    def _tick(self) -> defer.Deferred:
        return defer.ensureDeferred(self._prove())

    async def _prove(self) -> None:
        head = self._input.peek()
        if head is None or not self._old(head):
            return
        while self._takeable(self._input.peek()):
            batches = []
            while len(batches) < self.max_fris_per_snark and self._takeable(self._input.peek()):
                batches.append(await self._input.get())
            now = self._reactor.seconds()
            for envelope in batches:
                envelope.stage_times[SNARK_PROVED_FAKE] = now
            await self._output.put(ProofCommand(tuple(batches), Proof.fake_proof()))


def create_fake_provers_from_config(
    config,
    *,
    reactor,
    fri_input=None,
    fri_output=None,
    snark_input=None,
    snark_output=None,
    fri_jobs: FriJobs | None = None,
) -> MultiService:
    """The fake provers the ``ProverApiConfig`` enables (possibly none) under one service.
    Pass the prover API's ``fri_jobs`` so fake and real provers share jobs."""
    parent = MultiService()
    if config.fake_fri_provers_enabled:
        FakeFriProvers(
            input=fri_input,
            output=fri_output,
            jobs=fri_jobs,
            reactor=reactor,
            workers=config.fake_fri_provers_workers,
            compute_time=config.fake_fri_provers_compute_time,
            min_age=config.fake_fri_provers_min_age,
        ).setServiceParent(parent)
    if config.fake_snark_provers_enabled:
        FakeSnarkProver(
            input=snark_input,
            output=snark_output,
            reactor=reactor,
            max_batch_age=config.fake_snark_provers_max_batch_age,
            max_fris_per_snark=config.max_fris_per_snark,
        ).setServiceParent(parent)
    return parent
