r"""``GaplessCommitter``: puts FRI-proved batches back in batch-number order (reference §5.2).

FRI provers finish in any order. The committer buffers what arrives and, for each next
expected batch, first stores the envelope with its proof in proof storage, then puts it on the
output queue (towards the L1 commit sender). Proof storage is therefore gapless by construction:
its latest batch is where the committer resumes.

Restart: given ``last_committed`` (the L1 counter), the committer first re-emits the stored
envelopes ``last_committed + 1 ..= proof_storage.latest_batch()`` (proved but not committed),
then expects ``latest_batch() + 1``. A batch that arrives again below the expected number (the
batcher re-sent it, a prover repeated it) is dropped, so nothing is emitted twice or skipped.

The store (an ``fsync``\ ed file per batch) runs through the injected ``in_thread`` (the
pipeline thread, ``zkos_tw.batcher.offload``) and is awaited before the envelope is passed on.
"""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from zkos_tw.batcher.info import BatchEnvelope
from zkos_tw.batcher.offload import run_here
from zkos_tw.pipeline import BoundedQueue

FRI_PROOF_STORED = "FriProofStored"


class GaplessCommitter(Service):
    """Reorders proved envelopes from ``input`` into ``output``; see the module docstring."""

    log = Logger()
    name = "gapless-committer"

    def __init__(
        self,
        *,
        input: BoundedQueue,
        output: BoundedQueue,
        proof_storage,
        reactor: IReactorTime,
        last_committed: int = 0,
        in_thread=None,
    ):
        self._in_thread = in_thread or run_here
        self._input = input
        self._output = output
        self._storage = proof_storage
        self._reactor = reactor
        self._last_committed = last_committed
        self._buffer: dict[int, BatchEnvelope] = {}
        self._loop: defer.Deferred | None = None
        #: The failure that ended the loop, if one did.
        self.failure = None

    @property
    def next_expected(self) -> int:
        """The batch number the committer releases next."""
        return self._next

    def startService(self) -> None:
        super().startService()
        latest = self._storage.latest_batch()
        self._next = max(self._last_committed, latest or 0) + 1
        self._loop = defer.ensureDeferred(self._run(latest))
        self._loop.addErrback(self._failed)

    def stopService(self):
        super().stopService()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            loop.addErrback(lambda f: f.trap(defer.CancelledError))
            loop.cancel()

    def _failed(self, failure):
        if failure.check(defer.CancelledError):
            return None
        self.failure = failure
        self.log.failure("gapless committer stopped at batch {batch}", failure, batch=self._next)
        return None

    async def _run(self, latest: int | None) -> None:
        for number in range(self._last_committed + 1, (latest or 0) + 1):
            envelope = self._storage.get(number)
            if envelope is None:
                raise RuntimeError(f"proof storage has a gap: batch {number} is missing")
            await self._output.put(envelope)
        while True:
            envelope = await self._input.get()
            if envelope.number < self._next or envelope.number in self._buffer:
                self.log.info("dropping repeated batch {batch}", batch=envelope.number)
                continue
            self._buffer[envelope.number] = envelope
            while self._next in self._buffer:
                await self._release(self._buffer.pop(self._next))

    async def _release(self, envelope: BatchEnvelope) -> None:
        await self._in_thread(self._storage.put, envelope)
        times = dict(envelope.stage_times)
        times[FRI_PROOF_STORED] = self._reactor.seconds()
        self._next += 1
        await self._output.put(BatchEnvelope(envelope.batch, envelope.fri_proof, times))
