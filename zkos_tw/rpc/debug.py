"""The ``debug_`` namespace: geth's trace methods (docs/tracing.md).

``debug_traceTransaction``, ``debug_traceBlockByNumber``, ``debug_traceBlockByHash`` and
``debug_traceCall`` (block tags, ``stateOverrides``); the work is ``zkos_tw.tracing.service``'s.
Trace errors (unknown tracer, timeout, too many traces, unknown transaction) answer -32000 with
geth's text.
"""

from __future__ import annotations

from zkos_tw.rpc.blocks import block_number
from zkos_tw.rpc.errors import BackendError, JsonRpcError
from zkos_tw.rpc.methods import resolve, rpc_method
from zkos_tw.tracing.errors import TraceError
from zkos_tw.tracing.overrides import parse_overrides

SERVER_ERROR = -32000

#: The keys of geth's ``TraceCallConfig`` that are no tracer options.
_CALL_ONLY = ("stateOverrides", "blockOverrides", "txIndex")


def _options(value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise JsonRpcError("invalid type: trace options must be an object", code=-32602)
    return value


async def _traced(deferred_or_call):
    try:
        return await resolve(deferred_or_call())
    except TraceError as e:
        raise JsonRpcError(str(e), code=SERVER_ERROR) from None


class DebugNamespace:
    """Handlers of the ``debug_trace*`` methods over a ``TraceService``."""

    def __init__(self, backend, traces):
        self.backend = backend
        self.traces = traces

    @rpc_method("debug_traceTransaction", "hash32", "any", required=1)
    async def trace_transaction(self, tx_hash, options):
        options = _options(options)
        return await _traced(lambda: self.traces.trace_transaction(tx_hash, options))

    @rpc_method("debug_traceBlockByNumber", "block_id", "any", required=1)
    async def trace_block_by_number(self, block, options):
        options = _options(options)
        number = await block_number(self.backend, block)
        if number is None or number > await resolve(self.backend.latest_block_number()):
            raise JsonRpcError(f"block #{block.number} not found", code=SERVER_ERROR)
        return await _traced(lambda: self.traces.trace_block(number, options))

    @rpc_method("debug_traceBlockByHash", "hash32", "any", required=1)
    async def trace_block_by_hash(self, block_hash, options):
        options = _options(options)
        return await _traced(lambda: self.traces.trace_block_by_hash(block_hash, options))

    @rpc_method("debug_traceCall", "call_request", "block_id", "any", required=1)
    async def trace_call(self, request, block, options):
        options = _options(options)
        if options.get("blockOverrides") is not None:
            raise BackendError("block overrides are not supported in `debug_traceCall`")
        overrides = parse_overrides(options.get("stateOverrides"))
        number = await block_number(self.backend, block)
        if number is None or number > await resolve(self.backend.latest_block_number()):
            raise BackendError("block not found")
        tracer_options = {k: v for k, v in options.items() if k not in _CALL_ONLY}
        return await _traced(
            lambda: self.traces.trace_call(request, number, tracer_options, overrides)
        )
