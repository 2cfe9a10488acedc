"""The chain's metrics with the reference's names (§13.2): execution, repositories, tree, mempool
and the L1 watcher, on the registry the node passes in.

Names follow ``<prefix>_<field>[_unit]``; prometheus_client adds ``_total`` to counters and
``_bucket``/``_sum``/``_count`` to histograms, as the reference's exporter does. What each one
measures, and the reference names we do not have (pubdata, native cycles, RocksDB), is in
``docs/metrics.md``.

The sequencer and the block sink update these from its worker thread; prometheus_client's
metrics are thread-safe.
"""

from __future__ import annotations

import collections
from bisect import bisect_left

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Seconds, for work measured per transaction (10 us .. 1 s).
_TX_SECONDS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.1, 1.0)
#: Seconds, for work measured per block (100 us .. 10 s).
_BLOCK_SECONDS = (1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0)
_COUNTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_GAS = (21_000, 50_000, 100_000, 250_000, 500_000, 1e6, 2.5e6, 5e6, 1e7, 3e7, 1e8)
_BYTES = (128, 512, 2048, 8192, 32768, 131072, 524288, 2097152, 8388608)

#: The reference's seal-reason labels (§13.2); ours map onto them, anything else is ``other``.
SEAL_REASONS = (
    "replay",
    "timeout",
    "tx_count_limit",
    "gas_limit",
    "gas_vm",
    "native_cycles",
    "pubdata",
    "l2_to_l1_logs",
    "other",
)


class ExecutionMetrics:
    """The sequencer's ``execution_*`` metrics, updated once per sealed block and per tx."""

    def __init__(self, registry: CollectorRegistry):
        self.block_number = Gauge(
            "execution_block_number",
            "Last block the sequencer executed and stored",
            ["stage"],
            registry=registry,
        )
        self.seal_reason = Counter(
            "execution_seal_reason",
            "Sealed blocks by seal reason",
            ["seal_reason"],
            registry=registry,
        )
        self.tx_execution = Histogram(
            "execution_tx_execution_seconds",
            "Time to execute one transaction in the VM",
            ["measure"],
            buckets=_TX_SECONDS,
            registry=registry,
        )
        self.transactions_per_block = Histogram(
            "execution_transactions_per_block",
            "Transactions in a sealed block",
            buckets=_COUNTS,
            registry=registry,
        )
        self.transaction_gas_used = Histogram(
            "execution_transaction_gas_used",
            "Gas used by one included transaction",
            buckets=_GAS,
            registry=registry,
        )
        self.transaction_status = Counter(
            "execution_transaction_status",
            "Included transactions by receipt status",
            ["status"],
            registry=registry,
        )
        self.gas_per_block = Histogram(
            "execution_gas_per_block", "Gas used by a sealed block", buckets=_GAS, registry=registry
        )
        self.executed_transactions = Counter(
            "execution_executed_transactions", "Transactions included in blocks", registry=registry
        )
        self.storage_writes_per_block = Histogram(
            "execution_storage_writes_per_block",
            "Storage slots a sealed block wrote",
            buckets=_COUNTS,
            registry=registry,
        )
        self.next_l1_priority_id = Gauge(
            "execution_next_l1_priority_id",
            "Priority id of the next L1 transaction to include",
            registry=registry,
        )

    def transaction_executed(self, seconds: float) -> None:
        """One transaction ran in the VM for ``seconds`` (included or not)."""
        self.tx_execution.labels(measure="total").observe(seconds)

    def transactions_executed(self, durations: list[float]) -> None:
        """``transaction_executed`` for each of ``durations``, as one update per bucket (the
        sequencer reports a batch at a time: one labelled lookup and a few bucket increments
        instead of one ``observe`` per transaction)."""
        if durations:
            observe_each(self.tx_execution.labels(measure="total"), durations)

    def block_sealed(self, block, next_priority_id: int) -> None:
        """``block`` (a ``SealedBlock``) was stored; the next L1 tx has ``next_priority_id``."""
        reason = block.seal_reason if block.seal_reason in SEAL_REASONS else "other"
        self.block_number.labels(stage="execute").set(block.number)
        self.seal_reason.labels(seal_reason=reason).inc()
        count = len(block.transactions)
        self.transactions_per_block.observe(count)
        self.executed_transactions.inc(count)
        self.gas_per_block.observe(block.header.gas_used)
        gas_used: collections.Counter = collections.Counter()
        succeeded = 0
        for receipt in block.receipts:
            gas_used[receipt.gas_used] += 1
            succeeded += receipt.succeeded
        for value, times in gas_used.items():
            observe_many(self.transaction_gas_used, value, times)
        # One labelled child per status and block, not per receipt.
        if succeeded:
            self.transaction_status.labels(status="success").inc(succeeded)
        if count - succeeded:
            self.transaction_status.labels(status="failure").inc(count - succeeded)
        self.storage_writes_per_block.observe(len(block.state_output.storage_writes))
        self.next_l1_priority_id.set(next_priority_id)


class StorageMetrics:
    """The block sink's ``repositories_*`` and ``tree_*`` metrics, once per stored block."""

    def __init__(self, registry: CollectorRegistry):
        self.persist_block = Histogram(
            "repositories_persist_block_seconds",
            "Time to write a block in its one storage transaction (committed)",
            buckets=_BLOCK_SECONDS,
            registry=registry,
        )
        self.persist_block_per_tx = Histogram(
            "repositories_persist_block_per_tx_seconds",
            "Block write time divided by its transaction count",
            buckets=_TX_SECONDS,
            registry=registry,
        )
        self.persist_block_number = Gauge(
            "repositories_persist_block_number", "Last block written to storage", registry=registry
        )
        self.block_data_size = Histogram(
            "repositories_block_data_size_bytes",
            "Bytes of one block's records (header, WAL record, transactions, receipts)",
            buckets=_BYTES,
            registry=registry,
        )
        self.block_data_size_per_tx = Histogram(
            "repositories_block_data_size_per_tx_bytes",
            "Block record bytes divided by its transaction count",
            buckets=_BYTES,
            registry=registry,
        )
        self.tree_block_time = Histogram(
            "tree_block_time_seconds",
            "Time to compute the tree version of one block",
            buckets=_BLOCK_SECONDS,
            registry=registry,
        )
        self.tree_entry_time = Histogram(
            "tree_entry_time_seconds",
            "Tree time of a block divided by its tree writes",
            buckets=_TX_SECONDS,
            registry=registry,
        )
        self.tree_block_number = Gauge(
            "tree_block_number", "Last block the tree holds a version of", registry=registry
        )

    def tree_applied(self, number: int, entries: int, seconds: float) -> None:
        """The tree version of block ``number`` (``entries`` writes) took ``seconds``."""
        self.tree_block_time.observe(seconds)
        self.tree_entry_time.observe(seconds / max(entries, 1))
        self.tree_block_number.set(number)

    def block_persisted(self, write, seconds: float) -> None:
        """``write`` (a ``BlockWrite``) was committed in ``seconds``."""
        txs = max(len(write.transactions), 1)
        size = len(write.wal_record) + len(write.block_record)
        size += sum(len(t.raw) + len(t.receipt) for t in write.transactions)
        self.persist_block.observe(seconds)
        self.persist_block_per_tx.observe(seconds / txs)
        self.persist_block_number.set(write.number)
        self.block_data_size.observe(size)
        self.block_data_size_per_tx.observe(size / txs)


class MempoolMetrics:
    """``mempool_len``: transactions in the pool (pending and queued), read at scrape time."""

    def __init__(self, registry: CollectorRegistry, mempool):
        self.length = Gauge(
            "mempool_len", "Transactions in the mempool (pending and queued)", registry=registry
        )
        self.length.set_function(mempool.__len__)


class L1WatcherMetrics:
    """The watchers' ``most_recently_scanned_l1_block`` and ``events_loaded`` (no prefix), and
    our ``l1_watcher_lag_blocks``: L1 blocks between the head the watcher saw and its scan."""

    def __init__(self, registry: CollectorRegistry):
        self.scanned = Gauge(
            "most_recently_scanned_l1_block",
            "Last L1 block a watcher read events up to",
            ["event"],
            registry=registry,
        )
        self.events_loaded = Counter(
            "events_loaded", "L1 events a watcher handed on", ["event"], registry=registry
        )
        self.lag = Gauge(
            "l1_watcher_lag_blocks",
            "L1 head minus the last L1 block a watcher read (zkos-tw, not in the reference)",
            ["event"],
            registry=registry,
        )

    def scanned_range(self, event: str, end: int, latest: int, loaded: int) -> None:
        """A watcher of ``event`` read up to L1 block ``end`` of ``latest``, ``loaded`` new."""
        self.scanned.labels(event=event).set(end)
        self.lag.labels(event=event).set(max(latest - end, 0))
        self.events_loaded.labels(event=event).inc(loaded)


__all__ = [
    "SEAL_REASONS",
    "ExecutionMetrics",
    "L1WatcherMetrics",
    "MempoolMetrics",
    "StorageMetrics",
]


def observe_each(histogram: Histogram, values) -> None:
    """``histogram.observe(v)`` for each of ``values``, as one update per bucket touched."""
    try:
        bounds = histogram._upper_bounds
        buckets = histogram._buckets
        total = histogram._sum
    except AttributeError:  # another prometheus_client layout: the plain way
        for value in values:
            histogram.observe(value)
        return
    histogram._raise_if_not_observable()
    counts: dict[int, int] = {}
    for value in values:
        i = bisect_left(bounds, value)
        counts[i] = counts.get(i, 0) + 1
    total.inc(sum(values))
    for i, times in counts.items():
        buckets[i].inc(times)


def observe_many(histogram: Histogram, value: float, times: int) -> None:
    """``histogram.observe(value)`` ``times`` times, as one update (a block's transfers all use
    21,000 gas: one bucket increment per block instead of one ``observe`` per transaction)."""
    try:
        bounds = histogram._upper_bounds
        buckets = histogram._buckets
        total = histogram._sum
    except AttributeError:  # another prometheus_client layout: the plain way
        for _ in range(times):
            histogram.observe(value)
        return
    histogram._raise_if_not_observable()
    total.inc(value * times)
    buckets[bisect_left(bounds, value)].inc(times)
