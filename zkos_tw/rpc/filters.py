"""``eth_getLogs`` and the poll-based filters (reference §3.3 "Filters").

Filters live in memory, keyed by ``"0x"`` + the lowercase hex of a random 128-bit number. Each
remembers the newest block it has reported. A filter not polled for ``stale_filter_ttl`` seconds
is removed; the check runs every TTL on the injected clock (``start``/``stop``).

One deliberate change from the reference: ``eth_getFilterChanges`` on a log filter returns the
matching logs of the blocks added since the previous poll (within the filter's own range), as
geth and reth do, instead of re-evaluating the filter's whole range on every new block.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from twisted.internet.task import LoopingCall

from zkos_tw.rpc.blocks import block_number
from zkos_tw.rpc.codec import BlockId, LogFilter
from zkos_tw.rpc.errors import BackendError, InvalidParams
from zkos_tw.rpc.methods import resolve, rpc_method

FILTER_NOT_FOUND = "filter not found"
# Pending transactions a filter keeps between polls; older ones are dropped first.
MAX_PENDING_PER_FILTER = 10_000


def new_id() -> str:
    """A filter or subscription id: ``0x`` + lowercase hex of a random u128, no padding."""
    return hex(secrets.randbits(128))


async def query_logs(
    backend, log_filter: LogFilter, max_blocks: int, max_logs: int, *, clamp_from=None
) -> list:
    """The logs matching ``log_filter``, with the reference's range and result limits.

    ``clamp_from`` (filter polls) raises the lower bound to it.
    """
    if log_filter.block_hash is not None:
        number = await resolve(backend.block_number_by_hash(log_filter.block_hash))
        if number is None:
            raise BackendError("block not found")
        first = last = number
    else:
        first = await block_number(backend, log_filter.from_block)
        last = await block_number(backend, log_filter.to_block)
        if first > last and clamp_from is None:
            raise BackendError("invalid block range params")
        latest = await resolve(backend.latest_block_number())
        last = min(last, latest)
        if clamp_from is not None:
            first = max(first, clamp_from)
        if first > last:
            return []
    if last - first > max_blocks:
        raise BackendError(f"query exceeds max block range {max_blocks}")
    limit = None if first == last else max_logs
    logs = await resolve(backend.logs(first, last, log_filter.addresses, log_filter.topics, limit))
    if limit is not None and len(logs) > limit:
        retry_to = max(int(logs[-1]["blockNumber"], 16) - 1, 0)
        raise BackendError(
            f"query exceeds max results {max_logs}, retry with the range {first}-{retry_to}"
        )
    return list(logs)


@dataclass
class InstalledFilter:
    """One installed filter: ``kind`` is ``log``, ``block`` or ``pending``."""

    kind: str
    last_block: int
    last_poll: float
    log_filter: LogFilter | None = None
    full: bool = False
    pending: list = field(default_factory=list)


class FilterRegistry:
    """The installed filters, their polling state and their expiry."""

    def __init__(
        self, backend, clock, *, ttl: float, max_blocks: int, max_logs: int, make_id=new_id
    ):
        self.backend = backend
        # ``make_id() -> str``: a new filter's id (RPC workers put their index in it).
        self._make_id = make_id
        self.clock = clock
        self.ttl = ttl
        self.max_blocks = max_blocks
        self.max_logs = max_logs
        self.filters: dict[str, InstalledFilter] = {}
        self._remove_listener = None
        self._expiry = LoopingCall(self.evict_stale)
        self._expiry.clock = clock

    def start(self) -> None:
        """Start the stale-filter check (pending transactions are listened to while a pending
        filter is installed: building each one's RPC object, or, in an RPC worker, having the
        sequencer push every new pending transaction, costs per transaction)."""
        self._sync_listener()
        if not self._expiry.running:
            self._expiry.start(self.ttl, now=False)

    def stop(self) -> None:
        """Stop listening and checking."""
        self._stop_listening()
        if self._expiry.running:
            self._expiry.stop()

    def evict_stale(self) -> None:
        """Remove every filter not polled for the TTL."""
        now = self.clock.seconds()
        for filter_id in [k for k, f in self.filters.items() if now - f.last_poll >= self.ttl]:
            del self.filters[filter_id]
        self._sync_listener()

    def _sync_listener(self) -> None:
        """Listen for pending transactions exactly while a pending filter is installed."""
        wanted = any(f.kind == "pending" for f in self.filters.values())
        if wanted and self._remove_listener is None:
            self._remove_listener = self.backend.add_pending_transaction_listener(self._pending)
        elif not wanted:
            self._stop_listening()

    def _stop_listening(self) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None

    def _pending(self, transaction: dict) -> None:
        for installed in self.filters.values():
            if installed.kind == "pending":
                installed.pending.append(transaction if installed.full else transaction["hash"])
                if len(installed.pending) > MAX_PENDING_PER_FILTER:
                    del installed.pending[0]

    async def install(self, kind: str, log_filter: LogFilter | None = None, full=False) -> str:
        """Install a filter; return its id."""
        latest = await resolve(self.backend.latest_block_number())
        filter_id = self._make_id()
        self.filters[filter_id] = InstalledFilter(
            kind, latest, self.clock.seconds(), log_filter, full
        )
        if kind == "pending":
            self._sync_listener()
        return filter_id

    def uninstall(self, filter_id: str) -> bool:
        """Remove a filter; ``True`` if it existed."""
        removed = self.filters.pop(filter_id.lower(), None)
        if removed is not None and removed.kind == "pending":
            self._sync_listener()
        return removed is not None

    def _get(self, filter_id: str) -> InstalledFilter:
        installed = self.filters.get(filter_id.lower())
        if installed is None:
            raise BackendError(FILTER_NOT_FOUND)
        installed.last_poll = self.clock.seconds()
        return installed

    async def changes(self, filter_id: str) -> list:
        """What is new for the filter since its previous poll."""
        installed = self._get(filter_id)
        if installed.kind == "pending":
            drained, installed.pending = installed.pending, []
            return drained
        latest = await resolve(self.backend.latest_block_number())
        since = installed.last_block
        if latest <= since:
            return []
        if installed.kind == "block":
            first = max(since + 1, latest - self.max_blocks)
            hashes = []
            for number in range(first, latest + 1):
                block = await resolve(self.backend.block_by_number(number, False))
                if block is not None:
                    hashes.append(block["hash"])
            installed.last_block = latest
            return hashes
        log_filter = installed.log_filter
        if log_filter.block_hash is not None:
            installed.last_block = latest
            return []
        logs = await query_logs(
            self.backend,
            _with_to(log_filter, latest),
            self.max_blocks,
            self.max_logs,
            clamp_from=since + 1,
        )
        installed.last_block = latest
        return logs

    async def logs(self, filter_id: str) -> list:
        """All logs in a log filter's range."""
        installed = self._get(filter_id)
        if installed.kind != "log":
            raise BackendError(FILTER_NOT_FOUND)
        return await query_logs(self.backend, installed.log_filter, self.max_blocks, self.max_logs)


def _with_to(log_filter: LogFilter, latest: int) -> LogFilter:
    """The filter with an open ``toBlock`` bounded by the block seen at this poll."""
    if log_filter.to_block is None or log_filter.to_block.tag in ("latest", "pending"):
        return LogFilter(
            from_block=log_filter.from_block or BlockId(number=0),
            to_block=BlockId(number=latest),
            addresses=log_filter.addresses,
            topics=log_filter.topics,
        )
    if log_filter.from_block is None:
        return LogFilter(
            from_block=BlockId(number=0),
            to_block=log_filter.to_block,
            addresses=log_filter.addresses,
            topics=log_filter.topics,
        )
    return log_filter


class FiltersNamespace:
    """Handlers of ``eth_getLogs`` and the ``eth_`` filter methods."""

    def __init__(self, registry: FilterRegistry):
        self.registry = registry

    @rpc_method("eth_getLogs", "filter")
    async def get_logs(self, log_filter):
        registry = self.registry
        return await query_logs(
            registry.backend, log_filter, registry.max_blocks, registry.max_logs
        )

    @rpc_method("eth_newFilter", "filter")
    async def new_filter(self, log_filter):
        return await self.registry.install("log", log_filter)

    @rpc_method("eth_newBlockFilter")
    async def new_block_filter(self):
        return await self.registry.install("block")

    @rpc_method("eth_newPendingTransactionFilter", "bool", required=0)
    async def new_pending_transaction_filter(self, full):
        return await self.registry.install("pending", full=bool(full))

    @rpc_method("eth_getFilterChanges", "any")
    async def get_filter_changes(self, filter_id):
        return await self.registry.changes(_filter_id(filter_id))

    @rpc_method("eth_getFilterLogs", "any")
    async def get_filter_logs(self, filter_id):
        return await self.registry.logs(_filter_id(filter_id))

    @rpc_method("eth_uninstallFilter", "any")
    def uninstall_filter(self, filter_id):
        return self.registry.uninstall(_filter_id(filter_id))


def _filter_id(value) -> str:
    if not isinstance(value, str):
        raise InvalidParams("first parameter: expected a filter id (hex string)")
    return value
