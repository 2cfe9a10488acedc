"""Watching a load run: which block took each transaction, and how fast ``eth_blockNumber`` is.

``InclusionWatcher`` polls ``eth_blockNumber`` every ``interval`` seconds on its own connection;
for every new block it fetches the block (hashes only, all new blocks in one batch) and marks
this run's transactions in it as included at the time the block was seen. Inclusion latency is
"time the batch carrying the transaction was sent" to "time a poll saw it in a block", so it
includes up to one poll interval plus one block fetch.

``BlockNumberSampler`` times ``eth_blockNumber`` calls, one at a time every ``interval``
seconds, on a third connection: the RPC's responsiveness while the node is under load.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import deferLater

from zkos_tw.load.client import JsonRpcClient, RpcError
from zkos_tw.load.stats import RunRecord

#: blocks fetched per poll at most (one JSON-RPC batch); the rest on the next polls
MAX_BLOCKS = 100


def _sleep(clock, seconds: float) -> Deferred:
    return deferLater(clock, seconds, lambda: None)


class InclusionWatcher:
    """Marks submitted transactions as included when a block carrying them shows up."""

    def __init__(
        self,
        client: JsonRpcClient,
        clock,
        record: RunRecord,
        start_block: int,
        interval: float = 0.02,
    ):
        self.client = client
        self.clock = clock
        self.record = record
        self.interval = interval
        self.last_block = start_block
        #: tx hash -> time its batch was sent; included ones leave
        self.in_flight: dict[str, float] = {}
        self.errors = 0
        self._stopped = False

    def sent(self, tx_hashes, at: float) -> None:
        for tx_hash in tx_hashes:
            self.in_flight[tx_hash] = at

    def refused(self, tx_hash: str) -> None:
        self.in_flight.pop(tx_hash, None)

    def stop(self) -> None:
        self._stopped = True

    async def poll_once(self) -> int:
        """Fetch the blocks after ``last_block`` up to the tip; how many transactions of ours
        they carried."""
        tip = int(await self.client.call("eth_blockNumber"), 16)
        if tip <= self.last_block:
            return 0
        numbers = list(range(self.last_block + 1, min(tip, self.last_block + MAX_BLOCKS) + 1))
        answers = await self.client.batch(
            [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]
        )
        now = self.clock.seconds()
        found = 0
        for number, block in zip(numbers, answers, strict=True):
            if isinstance(block, RpcError) or block is None:
                # not served yet (or an error): ask again from here next time
                return found
            self.record.block_seen.setdefault(number, now)
            ours = 0
            hashes = block.get("transactions") or []
            for tx_hash in hashes:
                sent_at = self.in_flight.pop(tx_hash.lower(), None)
                if sent_at is not None:
                    ours += 1
                    self.record.inclusion_latencies.append(now - sent_at)
            if ours:
                self.record.blocks[number] = ours
                self.record.block_sizes[number] = len(hashes)
                self.record.last_included = now
                found += ours
            self.last_block = number
        return found

    async def run(self, finished) -> None:
        """Poll until ``finished()`` says so (checked after each poll) or ``stop()``."""
        while not self._stopped:
            try:
                await self.poll_once()
            except RpcError:
                self.errors += 1
            if finished():
                return
            await _sleep(self.clock, self.interval)


class BlockNumberSampler:
    """Times ``eth_blockNumber`` round trips until stopped."""

    def __init__(self, client: JsonRpcClient, clock, record: RunRecord, interval: float = 0.05):
        self.client = client
        self.clock = clock
        self.record = record
        self.interval = interval
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    async def run(self) -> None:
        while not self._stopped:
            started = self.clock.seconds()
            try:
                await self.client.call("eth_blockNumber")
                self.record.block_number_latencies.append(self.clock.seconds() - started)
            except RpcError:
                self.record.block_number_errors += 1
            await _sleep(self.clock, self.interval)


class StateReader:
    """Reads state at a fixed ``rate`` (calls per second) until stopped, alternating
    ``eth_getBalance`` of the senders and, with a ``token``, ``eth_call`` of its ``balanceOf``:
    the read traffic of a mixed load. Each call starts at its due time whether or not the
    previous one answered (up to ``max_in_flight``), so a slow node does not lower the rate."""

    def __init__(
        self,
        client: JsonRpcClient,
        clock,
        record: RunRecord,
        rate: float,
        owners: list[str],
        token: str | None = None,
        max_in_flight: int = 64,
    ):
        self.client = client
        self.clock = clock
        self.record = record
        self.rate = rate
        self.owners = owners
        self.token = token
        self.max_in_flight = max_in_flight
        self._stopped = False
        self._in_flight = 0
        self._finished = Deferred()

    def stop(self) -> None:
        self._stopped = True

    def _request(self, index: int) -> tuple[str, list]:
        owner = self.owners[index % len(self.owners)]
        if self.token is not None and index % 2:
            data = "0x70a08231" + owner[2:].lower().rjust(64, "0")
            return "eth_call", [{"to": self.token, "data": data}, "latest"]
        return "eth_getBalance", [owner, "latest"]

    async def _one(self, index: int) -> None:
        method, params = self._request(index)
        started = self.clock.seconds()
        self._in_flight += 1
        try:
            await self.client.call(method, params)
            self.record.read_latencies.setdefault(method, []).append(self.clock.seconds() - started)
        except Exception:  # noqa: BLE001 - an RPC error or a dropped connection: counted
            self.record.read_errors += 1
        finally:
            self._in_flight -= 1
            if self._stopped and self._in_flight == 0 and not self._finished.called:
                self._finished.callback(None)

    async def run(self) -> None:
        self.record.read_rate = self.rate
        start = self.clock.seconds()
        index = 0
        while not self._stopped:
            wait = start + index / self.rate - self.clock.seconds()
            if wait > 0:
                await _sleep(self.clock, wait)
                continue
            if self._in_flight < self.max_in_flight:
                ensureDeferred(self._one(index))
            else:
                self.record.read_skipped += 1  # the node is that far behind
            index += 1
        if self._in_flight:
            await self._finished
