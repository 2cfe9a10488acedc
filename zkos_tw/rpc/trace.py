"""The ``trace_`` namespace: Parity / OpenEthereum flat traces, as anvil and reth answer them
(docs/tracing.md).

``trace_transaction``, ``trace_block``, ``trace_filter`` and ``trace_replayTransaction``
(``trace`` and ``stateDiff``; ``vmTrace`` is refused with a clear error). The work is
``zkos_tw.tracing.service``'s (off the reactor, within the trace limits); the traces are
``zkos_tw.tracing.parity``'s. An unknown transaction or block answers ``null``
(``trace_replayTransaction``: -32000 ``transaction not found``).

``trace_filter`` takes ``fromBlock`` / ``toBlock`` (hex numbers; default 0 and the newest
block; a ``toBlock`` past the newest block reads as the newest, as anvil), ``fromAddress`` /
``toAddress`` (lists), ``mode`` (``union``, the default, or ``intersection``), ``after`` and
``count``. A range of more than ``rpc_max_trace_filter_blocks`` blocks is refused (-32602).
"""

from __future__ import annotations

from dataclasses import dataclass

from zkos_tw.rpc.blocks import block_number
from zkos_tw.rpc.codec import U64_MAX, parse_address, parse_quantity
from zkos_tw.rpc.errors import INVALID_PARAMS, InvalidParams, JsonRpcError
from zkos_tw.rpc.methods import resolve, rpc_method
from zkos_tw.tracing.errors import TraceError

SERVER_ERROR = -32000
DEFAULT_MAX_TRACE_FILTER_BLOCKS = 100
TRACE_TYPES = ("trace", "vmTrace", "stateDiff")
_FILTER_FIELDS = ("fromBlock", "toBlock", "fromAddress", "toAddress", "mode", "after", "count")


@dataclass(frozen=True)
class TraceFilter:
    """A parsed ``trace_filter`` object (addresses as ``0x`` lower-case hex)."""

    from_block: int | None = None
    to_block: int | None = None
    from_addresses: frozenset = frozenset()
    to_addresses: frozenset = frozenset()
    intersection: bool = False
    after: int = 0
    count: int | None = None

    def matches(self, trace: dict) -> bool:
        """Alloy's ``TraceFilterMatcher``: a call matches by ``from`` / ``to``, a create by
        ``from`` / the created address, a selfdestruct by ``address`` / ``refundAddress``; an
        empty list matches everything."""
        action = trace["action"]
        if trace["type"] == "suicide":
            source, target = action["address"], action["refundAddress"]
        elif trace["type"] == "create":
            source = action["from"]
            result = trace["result"]
            target = result["address"] if result is not None else None
        else:
            source, target = action["from"], action["to"]
        from_ok = not self.from_addresses or source in self.from_addresses
        if target is None:
            to_ok = not self.to_addresses
        else:
            to_ok = not self.to_addresses or target in self.to_addresses
        if self.intersection:
            return from_ok and to_ok
        if not self.from_addresses:
            return to_ok
        if not self.to_addresses:
            return from_ok
        return (source in self.from_addresses) or (
            target is not None and target in self.to_addresses
        )


def _addresses(value, name: str) -> frozenset:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise InvalidParams(f"invalid type: `{name}` must be a list of addresses")
    return frozenset("0x" + parse_address(item).hex() for item in value)


def parse_trace_filter(value) -> TraceFilter:
    """The ``trace_filter`` parameter; ``InvalidParams`` when malformed."""
    if not isinstance(value, dict):
        raise InvalidParams("invalid type: the trace filter must be an object")
    unknown = sorted(set(value) - set(_FILTER_FIELDS))
    if unknown:
        raise InvalidParams(
            f"unknown field `{unknown[0]}`, expected one of " + ", ".join(_FILTER_FIELDS)
        )

    def number(name):
        raw = value.get(name)
        return None if raw is None else parse_quantity(raw, name, U64_MAX)

    mode = value.get("mode")
    if mode not in (None, "union", "intersection"):
        raise InvalidParams(f"unknown variant `{mode}`, expected `union` or `intersection`")
    return TraceFilter(
        from_block=number("fromBlock"),
        to_block=number("toBlock"),
        from_addresses=_addresses(value.get("fromAddress"), "fromAddress"),
        to_addresses=_addresses(value.get("toAddress"), "toAddress"),
        intersection=mode == "intersection",
        after=number("after") or 0,
        count=number("count"),
    )


def parse_trace_types(value) -> set[str]:
    """The trace types of ``trace_replayTransaction``; ``vmTrace`` is not supported."""
    if not isinstance(value, list):
        raise InvalidParams("invalid type: trace types must be a list")
    types = set()
    for item in value:
        if item not in TRACE_TYPES:
            raise InvalidParams(
                f"unknown variant `{item}`, expected one of `trace`, `vmTrace`, `stateDiff`"
            )
        types.add(item)
    if "vmTrace" in types:
        raise JsonRpcError(
            'vmTrace is not supported: ask for ["trace"] and / or ["stateDiff"]',
            code=SERVER_ERROR,
        )
    return types


async def _traced(make_deferred):
    try:
        return await resolve(make_deferred())
    except TraceError as e:
        raise JsonRpcError(str(e), code=SERVER_ERROR) from None


class TraceNamespace:
    """Handlers of the ``trace_*`` methods over a ``TraceService``."""

    def __init__(self, backend, traces, *, max_filter_blocks=DEFAULT_MAX_TRACE_FILTER_BLOCKS):
        self.backend = backend
        self.traces = traces
        self.max_filter_blocks = max_filter_blocks

    @rpc_method("trace_transaction", "hash32")
    async def trace_transaction(self, tx_hash):
        return await _traced(lambda: self.traces.parity_transaction(tx_hash))

    @rpc_method("trace_block", "block_id")
    async def trace_block(self, block):
        number = await block_number(self.backend, block)
        if number is None or number > await resolve(self.backend.latest_block_number()):
            return None
        return await _traced(lambda: self.traces.parity_block(number))

    @rpc_method("trace_filter", "any")
    async def trace_filter(self, value):
        query = parse_trace_filter(value)
        latest = await resolve(self.backend.latest_block_number())
        start = query.from_block if query.from_block is not None else 0
        end = query.to_block if query.to_block is not None else latest
        if start > end:
            raise JsonRpcError(
                "invalid parameters: fromBlock cannot be greater than toBlock", code=INVALID_PARAMS
            )
        if end - start > self.max_filter_blocks:
            raise JsonRpcError(
                f"Block range too large; currently limited to {self.max_filter_blocks} blocks",
                code=INVALID_PARAMS,
            )
        end = min(end, latest)
        if start > end:
            return []
        return await _traced(
            lambda: self.traces.parity_filter(start, end, query.matches, query.after, query.count)
        )

    @rpc_method("trace_replayTransaction", "hash32", "any")
    async def trace_replay_transaction(self, tx_hash, types):
        types = parse_trace_types(types)
        return await _traced(
            lambda: self.traces.replay_transaction(tx_hash, "trace" in types, "stateDiff" in types)
        )
