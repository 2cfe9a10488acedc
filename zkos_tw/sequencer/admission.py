"""``Admission``: ``eth_sendRawTransaction`` without holding the reactor for signature recovery.

Under load the reactor thread is the node's bottleneck, and most of its time went to taking
transactions in: decoding and recovering the sender (secp256k1) of each one (docs/load.md).
Admission splits ``Mempool.add`` in two:

* ``Mempool.prepare`` (hash, decode, recover, stateless checks) runs in a worker thread, for every
  transaction that arrived in the same reactor turn at once (a JSON-RPC batch arrives in one
  turn). coincurve releases the GIL while it recovers a key, so this work overlaps with the
  reactor and with block execution on the second core.
* ``Mempool.insert`` (duplicates, nonce and balance, the queues) runs on the reactor, in arrival
  order, so two transactions of one sender in one batch are inserted in the order they came.

Each ``submit`` returns a Deferred with the transaction hash or the ``PoolError`` of
``Mempool.add``; the errors are the same as the synchronous path's.
"""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool


def _prepare_all(mempool, raws: list) -> list:
    """(worker thread) ``Mempool.prepare`` of each raw transaction, or the exception it raised."""
    prepared = []
    for raw in raws:
        try:
            prepared.append(mempool.prepare(raw))
        except Exception as e:  # noqa: BLE001 - handed back to the caller of submit
            prepared.append(e)
    return prepared


class Admission:
    """Admits raw transactions to ``mempool``: preparation in ``threadpool``, insertion on the
    reactor. ``_in_thread(f, *args)`` is the test seam (default: ``deferToThreadPool``)."""

    def __init__(self, reactor, mempool, threadpool=None, *, _in_thread=None):
        self._reactor = reactor
        self._mempool = mempool
        if _in_thread is None:
            pool = threadpool if threadpool is not None else reactor.getThreadPool()

            def _in_thread(f, *args):
                return deferToThreadPool(reactor, pool, f, *args)

        self._in_thread = _in_thread
        self._waiting: list[tuple[bytes, defer.Deferred]] = []
        self._flush_call = None

    def submit(self, raw: bytes) -> defer.Deferred:
        """Admit ``raw``; the Deferred fires with its hash or fails with the pool's error."""
        done = defer.Deferred()
        self._waiting.append((raw, done))
        if self._flush_call is None:
            self._flush_call = self._reactor.callLater(0, self._flush)
        return done

    def _flush(self) -> None:
        self._flush_call = None
        batch, self._waiting = self._waiting, []
        prepared = self._in_thread(_prepare_all, self._mempool, [raw for raw, _ in batch])
        prepared.addCallbacks(
            lambda results: self._insert(batch, results),
            lambda failure: self._fail(batch, failure),
        )

    def _insert(self, batch: list, results: list) -> None:
        for (_, done), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                done.errback(result)
                continue
            try:
                tx_hash = self._mempool.insert(result)
            except Exception as e:  # noqa: BLE001 - the pool's error goes to the caller
                done.errback(e)
            else:
                done.callback(tx_hash)

    def _fail(self, batch: list, failure) -> None:
        for _, done in batch:
            done.errback(failure)


class ThreadPoolService(Service):
    """Starts and stops a ``ThreadPool`` with the node (admission's own thread)."""

    def __init__(self, pool):
        self.pool = pool

    def startService(self):
        super().startService()
        self.pool.start()

    def stopService(self):
        super().stopService()
        self.pool.stop()
