"""``PipelineThread``: the rollup pipeline's own worker thread, off the reactor (issue #16).

The pipeline's stages are reactor-driven loops, but the work a batch costs is not reactor work:
reading a batch's receipts, WAL records and pubdata to build its commit info, the batch store's
durable LMDB write, the proof storage's ``fsync``\\ ed file, the priority tree's L1 transactions
and its snapshot file. On the reactor thread that work (and the disk syncs it waits for) held
up JSON-RPC and block production: under ``benchmarks/load.py`` the reactor spent about 40 % of
its busy time in the batcher and the proof storage (docs/load.md).

Each stage takes an ``in_thread(f, *args) -> Deferred`` and runs those steps through it, still
awaiting each step before it goes on, so the order of every write and the rule "stored before
passed on" are what they were. The node passes one ``PipelineThread``: a ``ThreadPool`` of **one**
thread, so the steps of all stages run one at a time in the order they were asked for (the
batch store's puts in batch order, snapshots in order), and the pipeline never holds more than
one core's share of the GIL against the sequencer. Tests pass nothing and get ``run_here``:
the same steps, synchronously, on the calling thread.
"""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool


def run_here(f, *args) -> defer.Deferred:
    """``in_thread`` for tests and for callers without a thread: ``f(*args)`` now, as a Deferred."""
    return defer.execute(f, *args)


class PipelineThread(Service):
    """One worker thread for the pipeline's storage and hashing steps; ``self(f, *args)`` runs
    ``f`` there and returns a Deferred fired (on the reactor) with its result.

    Add it to the pipeline's ``MultiService`` before the stages: it then starts first and stops
    last, after every stage, so a step still running when the node stops finishes before the
    stores it writes are closed."""

    def __init__(self, reactor, name: str = "rollup-pipeline"):
        self._reactor = reactor
        self.name = f"{name}-thread"  # the service's name; the pool's thread is named after it
        self.pool = ThreadPool(1, 1, name)

    def __call__(self, f, *args) -> defer.Deferred:
        return deferToThreadPool(self._reactor, self.pool, f, *args)

    def startService(self) -> None:
        super().startService()
        self.pool.start()

    def stopService(self):
        super().stopService()
        self.pool.stop()
