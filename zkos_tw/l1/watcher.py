"""The L1 priority-transaction watcher and the genesis upgrade lookup (reference §7.3, §7.6).

``PriorityTxWatcher`` is a Twisted service. On start it finds the L1 block to scan from (the first
block where the diamond proxy has code and ``getTotalPriorityTxs() >= next_priority_id``, found by
binary search over historical ``eth_call``; when L1 cannot answer historical calls and has at most
100,000 blocks — anvil after ``--load-state`` — it starts at block 0). Then, every
``poll_interval`` (100 ms), it reads ``NewPriorityRequest`` logs of the diamond proxy with
``eth_getLogs`` over at most ``max_blocks`` (100) L1 blocks up to ``latest``, decodes and checks
each (``zkos_tw.l1.events``), skips priority ids below the next expected one, and hands the
others to an ``IPriorityTxSink`` in order, waiting while the sink is full.

Failures:

* L1 not answering (``L1Error`` other than a JSON-RPC error) is recorded in the client's
  ``L1Health`` and retried at the next poll, with the interval doubling up to 5 s: the node
  keeps running and reports L1 unhealthy.
* A malformed event, or a gap in priority ids, is fatal (the reference exits the process): the
  watcher stops, keeps the error in ``failure`` and calls ``on_fatal(exception)``.

``fetch_genesis_upgrade(client, diamond_proxy)`` returns the one ``GenesisUpgrade`` of the chain.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from twisted.application import service
from twisted.internet import defer
from twisted.internet.task import deferLater
from twisted.logger import Logger

from zkos_tw.l1.client import L1Error, L1RpcError
from zkos_tw.l1.discovery import SIG_TOTAL_PRIORITY_TXS
from zkos_tw.l1.events import (
    GENESIS_UPGRADE_TOPIC,
    NEW_PRIORITY_REQUEST_TOPIC,
    GenesisUpgrade,
    L1EventError,
    decode_genesis_upgrade,
    decode_priority_request,
)
from zkos_tw.metrics_chain import L1WatcherMetrics

DEFAULT_POLL_INTERVAL = 0.1
DEFAULT_MAX_BLOCKS = 100
MAX_ERROR_INTERVAL = 5.0
#: Below this L1 height a failed binary search falls back to block 0 (reference §7.3).
FALLBACK_MAX_HEIGHT = 100_000


class L1WatcherError(Exception):
    """The L1 event stream is unusable (gap, malformed event, no genesis upgrade): fatal."""


async def _first_block_where(client, latest: int, predicate) -> int:
    """The smallest block in ``[0, latest]`` where ``predicate`` holds (it holds at ``latest``
    and is monotone)."""
    low, high = 0, latest
    while low < high:
        middle = (low + high) // 2
        if await predicate(middle):
            high = middle
        else:
            low = middle + 1
    return low


async def find_start_block(client, diamond_proxy: bytes, next_priority_id: int) -> int:
    """The L1 block to scan ``NewPriorityRequest`` logs from (see the module docstring)."""
    latest = await client.block_number()

    async def reached(block) -> bool:
        if not await client.get_code(diamond_proxy, block):
            return False
        (total,) = await client.call_function(
            diamond_proxy, SIG_TOTAL_PRIORITY_TXS, returns=["uint256"], block=block
        )
        return total >= next_priority_id

    try:
        if not await reached(latest):
            return latest
        return await _first_block_where(client, latest, reached)
    except L1RpcError:
        if latest <= FALLBACK_MAX_HEIGHT:
            return 0
        raise


async def fetch_genesis_upgrade(client, diamond_proxy: bytes) -> GenesisUpgrade:
    """The chain's ``GenesisUpgrade`` (exactly one log required), searched at the L1 block where
    the diamond proxy got its code, or over ``[0, latest]`` when historical reads fail."""
    latest = await client.block_number()

    async def has_code(block) -> bool:
        return bool(await client.get_code(diamond_proxy, block))

    try:
        if not await has_code(latest):
            raise L1WatcherError(f"no contract at the diamond proxy 0x{diamond_proxy.hex()}")
        low = high = await _first_block_where(client, latest, has_code)
        logs = await client.get_logs(diamond_proxy, [GENESIS_UPGRADE_TOPIC], low, high)
    except L1RpcError:
        logs = []
    if not logs:
        logs = await client.get_logs(diamond_proxy, [GENESIS_UPGRADE_TOPIC], 0, latest)
    if len(logs) != 1:
        raise L1WatcherError(
            f"expected exactly one GenesisUpgrade event from 0x{diamond_proxy.hex()}, "
            f"found {len(logs)}"
        )
    try:
        return decode_genesis_upgrade(logs[0])
    except L1EventError as e:
        raise L1WatcherError(str(e)) from None


class PriorityTxWatcher(service.Service):
    """Polls L1 for priority transactions and puts them into ``sink`` in priority-id order."""

    name = "l1-watcher"
    log = Logger()

    def __init__(
        self,
        client,
        diamond_proxy: bytes,
        sink,
        *,
        clock,
        next_priority_id: int | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_blocks: int = DEFAULT_MAX_BLOCKS,
        on_fatal=None,
        metrics: L1WatcherMetrics | None = None,
    ):
        if max_blocks < 1:
            raise ValueError(f"max_blocks must be at least 1, got {max_blocks}")
        self._client = client
        self._diamond = diamond_proxy
        self._sink = sink
        self._clock = clock
        self._poll_interval = poll_interval
        self._max_blocks = max_blocks
        self._on_fatal = on_fatal
        self.metrics = metrics or L1WatcherMetrics(CollectorRegistry())
        #: The next priority id to deliver (restored from storage by the caller).
        self.next_priority_id = (
            sink.next_priority_id if next_priority_id is None else next_priority_id
        )
        #: The next L1 block to read logs from; ``None`` until the start block is found.
        self.next_l1_block: int | None = None
        self.delivered = 0
        self.failure: Exception | None = None
        self._loop: defer.Deferred | None = None
        self._caught_up = False
        self._caught_up_waiters: list[defer.Deferred] = []

    def when_caught_up(self) -> defer.Deferred:
        """A Deferred firing once the watcher has read every L1 block up to the L1 head it saw
        (so every priority tx already on L1 is in the sink, or waiting for room in it). The
        sequencer can wait for it before block 1, so the deposits of the L1 state land in
        block 1 with the upgrade tx."""
        if self._caught_up:
            return defer.succeed(None)
        waiting = defer.Deferred(lambda d: self._caught_up_waiters.remove(d))
        self._caught_up_waiters.append(waiting)
        return waiting

    def _mark_caught_up(self) -> None:
        if not self._caught_up:
            self._caught_up = True
            waiters, self._caught_up_waiters = self._caught_up_waiters, []
            for waiting in waiters:
                waiting.callback(None)

    @property
    def health(self):
        """The L1 health the client reports to."""
        return self._client.health

    def startService(self):
        super().startService()
        self._loop = defer.Deferred.fromCoroutine(self._run())
        self._loop.addErrback(self._stopped_or_failed)

    def stopService(self):
        super().stopService()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            loop.cancel()
        return defer.succeed(None)

    def _stopped_or_failed(self, failure):
        # Stopping cancels the loop; a request in flight may then fail with its own wrapper of
        # the cancellation (treq's RequestGenerationFailed), which is a stop, not an L1 failure.
        if failure.check(defer.CancelledError) or not self.running:
            return None
        self.failure = failure.value
        self.log.failure("L1 watcher stopped", failure)
        if self._on_fatal is not None:
            self._on_fatal(failure.value)
        return None

    async def _run(self):
        errors = 0
        # Stopping cancels the request in flight; if that surfaces as an L1Error the loop must
        # not go on polling (nor leave a timer behind).
        while self.running:
            try:
                if self.next_l1_block is None:
                    self.next_l1_block = await find_start_block(
                        self._client, self._diamond, self.next_priority_id
                    )
                    self.log.info(
                        "L1 watcher: scanning from L1 block {block} for priority id {id}",
                        block=self.next_l1_block,
                        id=self.next_priority_id,
                    )
                caught_up = await self.poll_once()
                if errors:
                    self.log.info("L1 watcher: L1 answers again after {n} failed polls", n=errors)
                errors = 0
                if caught_up:
                    self._mark_caught_up()
            except L1EventError as e:
                raise L1WatcherError(str(e)) from None
            except L1Error as e:
                errors += 1
                if errors == 1:
                    self.log.warn("L1 watcher: {error}; retrying", error=str(e))
                caught_up = True
            if caught_up and self.running:
                delay = min(self._poll_interval * 2 ** min(errors, 16), MAX_ERROR_INTERVAL)
                await deferLater(self._clock, max(delay, self._poll_interval), lambda: None)

    async def poll_once(self) -> bool:
        """Read one range of logs and deliver its new transactions; ``True`` when the range
        reached ``latest`` (nothing more to read right now)."""
        latest = await self._client.block_number()
        start = self.next_l1_block
        if start > latest:
            self.metrics.scanned_range("priority_tx", start - 1, latest, 0)
            return True
        end = min(latest, start + self._max_blocks - 1)
        logs = await self._client.get_logs(self._diamond, [NEW_PRIORITY_REQUEST_TOPIC], start, end)
        delivered = self.delivered
        for log in logs:
            request = decode_priority_request(log)
            if request.priority_id < self.next_priority_id:
                continue
            if request.priority_id > self.next_priority_id:
                raise L1WatcherError(
                    f"gap in L1 priority transactions: expected id {self.next_priority_id}, "
                    f"got {request.priority_id} at L1 block {request.l1_block}"
                )
            await self._sink.put(request.tx)
            self.next_priority_id += 1
            self.delivered += 1
        self.next_l1_block = end + 1
        self.metrics.scanned_range("priority_tx", end, latest, self.delivered - delivered)
        return end >= latest
