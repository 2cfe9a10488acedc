"""``TraceService``: the trace methods' work, off the reactor, within the limits.

Each trace takes a slot of ``TraceSlots`` on the reactor thread (refused at once when all are
taken), then runs in the worker thread pool the backend uses for ``eth_call``
(``deferToThread``), never on the sequencer's block path; it re-executes from storage
(``historical``) on its own throw-away state view.
"""

from __future__ import annotations

import time

from twisted.internet.threads import deferToThread

from zkos_tw.tracing.errors import TraceError
from zkos_tw.tracing.historical import StoredBlock
from zkos_tw.tracing.limits import Deadline, TraceSlots, TraceTimeout, parse_timeout
from zkos_tw.tracing.registry import make_tracer

DEFAULT_MAX_CONCURRENT_TRACES = 4


def _precompiles():
    return frozenset(i.to_bytes(20, "big") for i in range(1, 11))


class TraceService:
    """Traces stored transactions and blocks, and calls through the backend."""

    def __init__(
        self,
        storage,
        *,
        simulate=None,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT_TRACES,
        clock=time.monotonic,
        _in_thread=deferToThread,
    ):
        self._storage = storage
        # ``simulate(request, number, tracer, overrides)`` (worker thread): runs a call.
        self._simulate = simulate
        self.slots = TraceSlots(max_concurrent)
        self._clock = clock
        self._in_thread = _in_thread

    def _run(self, work, *args):
        self.slots.acquire()
        try:
            d = self._in_thread(work, *args)
        except BaseException:
            self.slots.release()
            raise

        def release(result):
            self.slots.release()
            return result

        return d.addBoth(release)

    def _factory(self, options):
        """Check the options now (bad ones fail before any work) and return a tracer maker."""
        options = options or {}
        timeout = parse_timeout(options.get("timeout"))
        make_tracer(options, precompiles=_precompiles())
        clock = self._clock

        def new_tracer():
            tracer = make_tracer(options, precompiles=_precompiles())
            return Deadline(tracer, clock() + timeout, clock)

        return new_tracer

    # -- methods --------------------------------------------------------------------------------

    def trace_transaction(self, tx_hash: bytes, options):
        """``debug_traceTransaction``: the trace of a stored transaction (``None``: unknown)."""
        new_tracer = self._factory(options)
        return self._run(self._trace_transaction, tx_hash, new_tracer)

    def _trace_transaction(self, tx_hash, new_tracer):
        location = self._storage.tx_location(tx_hash)
        if location is None:
            raise TraceError("transaction not found")
        block = StoredBlock(self._storage, location.block_number)
        ((_, _, tracer),) = block.trace(new_tracer, [location.index])
        return tracer.result()

    def trace_block(self, number: int, options):
        """``debug_traceBlockByNumber``: ``[{"txHash", "result"}]`` for each transaction."""
        new_tracer = self._factory(options)
        return self._run(self._trace_block, number, new_tracer)

    def trace_block_by_hash(self, block_hash: bytes, options):
        """``debug_traceBlockByHash``."""
        new_tracer = self._factory(options)
        number = self._storage.block_number_by_hash(block_hash)
        if number is None:
            raise TraceError(f"block 0x{block_hash.hex()} not found")
        return self._run(self._trace_block, number, new_tracer)

    def _trace_block(self, number, new_tracer):
        if number == 0:
            return []
        if self._storage.block(number) is None:
            raise TraceError(f"block #{number} not found")
        block = StoredBlock(self._storage, number)
        results = []
        done = 0
        try:
            for _, tx_hash, tracer in block.trace(new_tracer):
                results.append({"txHash": "0x" + tx_hash.hex(), "result": tracer.result()})
                done += 1
        except TraceTimeout as timeout:
            # The state after an interrupted transaction is unknown: the rest fail too.
            for tx_hash in block.tx_hashes[len(results) :]:
                results.append({"txHash": "0x" + tx_hash.hex(), "error": str(timeout)})
        return results

    def trace_call(self, request, number: int, options, overrides):
        """``debug_traceCall``: trace ``request`` on the state after block ``number``."""
        if self._simulate is None:
            raise TraceError("debug_traceCall is not available on this node")
        new_tracer = self._factory(options)
        return self._run(self._trace_call, request, number, new_tracer, overrides)

    def _trace_call(self, request, number, new_tracer, overrides):
        tracer = new_tracer()
        self._simulate(request, number, tracer, overrides)
        return tracer.result()
