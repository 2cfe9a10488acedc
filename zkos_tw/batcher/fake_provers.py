"""The in-process fake FRI and SNARK provers (reference §5.2, §5.3), for nodes without real ones.

``FakeFriProvers`` runs ``fake_fri_provers_workers`` (5) workers. Each takes the next sealed
batch from its input queue, waits until the batch is ``fake_fri_provers_min_age`` (3 s) old in
the stage (since ``BatchSealed``; a real prover would get that head start), "proves" it for
``fake_fri_provers_compute_time`` (2 s) and puts it on the output with a fake FRI proof
(stage times ``FriProverPicked``, ``FriProvedFake``). Output order is arbitrary; the
``GaplessCommitter`` puts it back in order and stores the proofs.

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
from zkos_tw.batcher.service import BATCH_SEALED
from zkos_tw.pipeline import BoundedQueue

FRI_PROVER_PICKED = "FriProverPicked"
FRI_PROVED_FAKE = "FriProvedFake"
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
        input: BoundedQueue,
        output: BoundedQueue,
        reactor: IReactorTime,
        workers: int = 5,
        compute_time: float = 2.0,
        min_age: float = 3.0,
    ):
        self._input = input
        self._output = output
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
            envelope = await self._input.get()
            now = self._reactor.seconds()
            entered = envelope.stage_times.get(BATCH_SEALED, now)
            if entered + self.min_age > now:
                await task.deferLater(self._reactor, entered + self.min_age - now)
            times = dict(envelope.stage_times)
            times[FRI_PROVER_PICKED] = self._reactor.seconds()
            await task.deferLater(self._reactor, self.compute_time)
            times[FRI_PROVED_FAKE] = self._reactor.seconds()
            await self._output.put(BatchEnvelope(envelope.batch, Proof.fake_proof(), times))


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
    config, *, reactor, fri_input, fri_output, snark_input, snark_output
) -> MultiService:
    """The fake provers the ``ProverApiConfig`` enables (possibly none) under one service."""
    parent = MultiService()
    if config.fake_fri_provers_enabled:
        FakeFriProvers(
            input=fri_input,
            output=fri_output,
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
