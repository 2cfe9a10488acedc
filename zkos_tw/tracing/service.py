"""``TraceService``: the trace methods' work, off the reactor, within the limits.

Each trace takes a slot of ``TraceSlots`` on the reactor thread (refused at once when all are
taken), then runs in the worker thread pool the backend uses for ``eth_call``
(``deferToThread``), never on the sequencer's block path; it re-executes from storage
(``historical``) on its own throw-away state view.

The ``trace_`` methods (Parity style) take no options: each request has the default timeout
(``limits.DEFAULT_TIMEOUT``) for all its work, counted from when it starts in the thread.
"""

from __future__ import annotations

import time

from twisted.internet.threads import deferToThread

from zkos_tw.tracing.errors import TraceError
from zkos_tw.tracing.historical import StoredBlock
from zkos_tw.tracing.limits import (
    DEFAULT_TIMEOUT,
    Deadline,
    TraceSlots,
    TraceTimeout,
    parse_timeout,
)
from zkos_tw.tracing.parity import ParityTracer, localize
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

    # -- the trace_ namespace (Parity style, ``zkos_tw.rpc.trace``) ----------------------------

    def _parity_tracers(self, **options):
        """A maker of ``ParityTracer``s sharing one deadline from now (worker thread)."""
        clock = self._clock
        deadline = clock() + DEFAULT_TIMEOUT

        def new_tracer():
            return Deadline(ParityTracer(**options), deadline, clock)

        return new_tracer

    def _localized(self, block: StoredBlock, new_tracer, indexes=None) -> list[list[dict]]:
        """The localized flat traces of each traced transaction of ``block``."""
        out = []
        for index, tx_hash, tracer in block.trace(new_tracer, indexes):
            out.append([localize(entry, block.hash, block.number, tx_hash, index)
                        for entry in tracer.tracer.traces()])  # fmt: skip
        return out

    def parity_transaction(self, tx_hash: bytes):
        """``trace_transaction``: the flat traces of a stored transaction (None: unknown)."""
        return self._run(self._parity_transaction, tx_hash)

    def _parity_transaction(self, tx_hash):
        location = self._storage.tx_location(tx_hash)
        if location is None:
            return None
        block = StoredBlock(self._storage, location.block_number)
        (traces,) = self._localized(block, self._parity_tracers(), [location.index])
        return traces

    def parity_block(self, number: int):
        """``trace_block``: the flat traces of every transaction of block ``number``, in order
        (None: no such block; genesis: none)."""
        return self._run(self._parity_block, number)

    def _parity_block(self, number):
        if self._storage.block(number) is None:
            return None
        if number == 0:
            return []
        block = StoredBlock(self._storage, number)
        return [t for traces in self._localized(block, self._parity_tracers()) for t in traces]

    def parity_filter(self, start: int, end: int, matches, after: int = 0, count=None):
        """``trace_filter``: the flat traces of blocks ``start..end`` for which
        ``matches(trace)`` holds, skipping the first ``after``, at most ``count``."""
        return self._run(self._parity_filter, start, end, matches, after, count)

    def _parity_filter(self, start, end, matches, after, count):
        found = []
        enough = None if count is None else after + count
        new_tracer = self._parity_tracers()  # one deadline for the whole range
        for number in range(max(start, 1), end + 1):
            if self._storage.block(number) is None:
                continue
            for traces in self._localized(StoredBlock(self._storage, number), new_tracer):
                found.extend(t for t in traces if matches(t))
            if enough is not None and len(found) >= enough:
                break
        return found[after:enough]

    def replay_transaction(self, tx_hash: bytes, with_trace: bool, with_state_diff: bool):
        """``trace_replayTransaction``: ``{"output", "stateDiff", "trace", "vmTrace"}`` (precompile
        calls left out of ``trace``, as anvil and reth do)."""
        return self._run(self._replay_transaction, tx_hash, with_trace, with_state_diff)

    def _replay_transaction(self, tx_hash, with_trace, with_state_diff):
        location = self._storage.tx_location(tx_hash)
        if location is None:
            raise TraceError("transaction not found")
        block = StoredBlock(self._storage, location.block_number)
        new_tracer = self._parity_tracers(exclude=_precompiles(), state_diff=with_state_diff)
        ((_, _, deadline),) = block.trace(new_tracer, [location.index])
        tracer = deadline.tracer
        return {
            "output": "0x" + tracer.output().hex(),
            "stateDiff": tracer.diff if with_state_diff else None,
            "trace": tracer.traces() if with_trace else [],
            "vmTrace": None,
        }
