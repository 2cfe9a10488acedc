"""Tests for ``zkos_tw.metrics_chain``: each metric moves with the event it measures.

The sequencer runs as in ``tests/sequencer/test_service.py``: real mempool and LMDB, a
``MemoryReactorClock``, the worker-thread work run inline. The L1 watcher runs over ``FakeL1``.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from prometheus_client import CollectorRegistry, Histogram
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT
from tests.l1 import test_watcher
from tests.l1.helpers import run
from tests.sequencer import test_service
from zkos_tw.chain import open_chain
from zkos_tw.config import load_config
from zkos_tw.metrics_chain import (
    ExecutionMetrics,
    L1WatcherMetrics,
    MempoolMetrics,
    StorageMetrics,
    observe_each,
    observe_many,
)
from zkos_tw.sequencer.accounts import StorageAccountReader
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.sequencer.service import Sequencer
from zkos_tw.sequencer.sink import BlockSink


class MetricsNode:
    """An in-process block producer with every chain metric on one registry."""

    def __init__(self, case: SynchronousTestCase, max_transactions: int = 5):
        self.registry = CollectorRegistry()
        self.reactor = MemoryReactorClock()
        self.reactor.advance(1_700_000_000)
        self.reactor.running = True
        config = load_config(
            {
                "general_rocks_db_path": os.path.abspath(case.mktemp()),
                "genesis_genesis_input_path": os.path.join(REPO_ROOT, "dev-genesis.json"),
                "sequencer_max_transactions_in_block": str(max_transactions),
            }
        )
        self.chain = open_chain(config)
        case.addCleanup(self.chain.close)
        reader = StorageAccountReader(self.chain.storage)
        self.mempool = Mempool(
            reader, chain_id=270, block_gas_limit=config.sequencer.block_gas_limit
        )
        MempoolMetrics(self.registry, self.mempool)
        sink = BlockSink(self.chain.storage, self.chain.tree, StorageMetrics(self.registry))
        sink.add_listener(reader.block_stored)
        self.sequencer = Sequencer(
            self.reactor,
            config.sequencer,
            270,
            self.chain,
            self.mempool,
            sink,
            metrics=ExecutionMetrics(self.registry),
            _in_thread=test_service.inline,
        )
        self.sequencer.startService()
        case.addCleanup(self.sequencer.stopService)

    def value(self, name: str, **labels) -> float | None:
        """The sample ``name`` with ``labels``, or ``None`` if there is none."""
        return self.registry.get_sample_value(name, labels)


class SequencerMetricsTests(SynchronousTestCase):
    """The execution, repositories, tree and mempool metrics of a producing sequencer."""

    def setUp(self):
        self.node = MetricsNode(self)

    def test_block_metrics(self):
        """A block of three transfers sealed on timeout: number, reason, counts, gas."""
        for nonce in range(3):
            self.node.mempool.add(test_service.signed(nonce))
        self.assertIsNone(self.node.value("execution_block_number", stage="execute"))
        self.node.reactor.advance(0.1)
        value = self.node.value
        self.assertEqual(value("execution_block_number", stage="execute"), 1)
        self.assertEqual(value("execution_seal_reason_total", seal_reason="timeout"), 1)
        self.assertEqual(value("execution_transactions_per_block_count"), 1)
        self.assertEqual(value("execution_transactions_per_block_sum"), 3)
        self.assertEqual(value("execution_executed_transactions_total"), 3)
        self.assertEqual(value("execution_transaction_status_total", status="success"), 3)
        self.assertEqual(value("execution_transaction_gas_used_sum"), 3 * 21_000)
        self.assertEqual(value("execution_gas_per_block_sum"), 3 * 21_000)
        self.assertEqual(value("execution_storage_writes_per_block_count"), 1)
        self.assertGreater(value("execution_storage_writes_per_block_sum"), 0)
        self.assertEqual(value("execution_next_l1_priority_id"), 0)

    def test_execution_time_per_transaction(self):
        """Each transaction the VM ran is one observation of ``measure="total"``."""
        for nonce in range(2):
            self.node.mempool.add(test_service.signed(nonce))
        self.node.reactor.advance(0.1)
        self.assertEqual(
            self.node.value("execution_tx_execution_seconds_count", measure="total"), 2
        )
        self.assertGreater(
            self.node.value("execution_tx_execution_seconds_sum", measure="total"), 0
        )

    def test_count_limit_reason(self):
        """Seven transactions with a limit of five: one ``tx_count_limit``, one ``timeout``."""
        for nonce in range(7):
            self.node.mempool.add(test_service.signed(nonce))
        self.node.reactor.advance(0.1)
        value = self.node.value
        self.assertEqual(value("execution_seal_reason_total", seal_reason="tx_count_limit"), 1)
        self.assertEqual(value("execution_seal_reason_total", seal_reason="timeout"), 1)
        self.assertEqual(value("execution_block_number", stage="execute"), 2)
        self.assertEqual(value("execution_executed_transactions_total"), 7)

    def test_storage_and_tree(self):
        """The block write and the tree version are timed and their block numbers kept."""
        self.node.mempool.add(test_service.signed(0))
        self.node.reactor.advance(0.1)
        value = self.node.value
        self.assertEqual(value("repositories_persist_block_number"), 1)
        self.assertEqual(value("repositories_persist_block_seconds_count"), 1)
        self.assertGreater(value("repositories_persist_block_seconds_sum"), 0)
        self.assertEqual(value("repositories_persist_block_per_tx_seconds_count"), 1)
        stored = self.node.chain.storage.block(1)
        raw = self.node.chain.storage.transaction(stored.tx_hashes[0])
        self.assertGreater(
            value("repositories_block_data_size_bytes_sum"), len(stored.block_record) + len(raw)
        )
        self.assertEqual(value("tree_block_number"), 1)
        self.assertEqual(value("tree_block_time_seconds_count"), 1)
        self.assertEqual(value("tree_entry_time_seconds_count"), 1)

    def test_mempool_len(self):
        """``mempool_len`` counts pending and queued transactions, and drops what is mined."""
        self.assertEqual(self.node.value("mempool_len"), 0)
        self.node.mempool.add(test_service.signed(0))
        self.node.mempool.add(test_service.signed(5))  # nonce gap: queued
        self.assertEqual(self.node.value("mempool_len"), 2)
        self.node.reactor.advance(0.1)
        self.assertEqual(self.node.value("mempool_len"), 1)


class ExecutionMetricsTests(SynchronousTestCase):
    """``ExecutionMetrics.block_sealed`` on its own."""

    def block(self, reason: str, succeeded=(True,)):
        receipts = tuple(SimpleNamespace(gas_used=30_000, succeeded=ok) for ok in succeeded)
        return SimpleNamespace(
            number=9,
            seal_reason=reason,
            transactions=receipts,
            receipts=receipts,
            header=SimpleNamespace(gas_used=30_000 * len(receipts)),
            state_output=SimpleNamespace(storage_writes=()),
        )

    def test_failed_status_and_other_reason(self):
        """A reverted receipt counts as ``failure``; a reason outside the reference's is
        ``other`` (our ``shutdown``); ``replay`` stays itself."""
        registry = CollectorRegistry()
        metrics = ExecutionMetrics(registry)
        metrics.block_sealed(self.block("shutdown", (True, False)), next_priority_id=4)
        metrics.block_sealed(self.block("replay"), next_priority_id=5)
        value = registry.get_sample_value
        self.assertEqual(value("execution_transaction_status_total", {"status": "failure"}), 1)
        self.assertEqual(value("execution_transaction_status_total", {"status": "success"}), 2)
        self.assertEqual(value("execution_seal_reason_total", {"seal_reason": "other"}), 1)
        self.assertEqual(value("execution_seal_reason_total", {"seal_reason": "replay"}), 1)
        self.assertIsNone(value("execution_seal_reason_total", {"seal_reason": "shutdown"}))
        self.assertEqual(value("execution_next_l1_priority_id"), 5)


class ObserveManyTests(SynchronousTestCase):
    def test_same_samples_as_observing_one_by_one(self):
        """Counts, sum and every bucket equal ``observe`` called ``times`` times, including a
        value on a bucket bound and one above every bound."""
        one, many = CollectorRegistry(), CollectorRegistry()
        buckets = (10, 100, 1000)
        h1 = Histogram("h", "h", registry=one, buckets=buckets)
        h2 = Histogram("h", "h", registry=many, buckets=buckets)
        for value, times in ((5, 3), (100, 2), (5000, 4), (100.5, 1)):
            for _ in range(times):
                h1.observe(value)
            observe_many(h2, value, times)
        samples = lambda registry: [  # noqa: E731
            (s.name, s.labels, s.value) for m in registry.collect() for s in m.samples
            if not s.name.endswith("_created")
        ]  # fmt: skip
        self.assertEqual(samples(many), samples(one))

    def test_observe_each(self):
        """``observe_each`` gives the samples of ``observe`` per value (bounds, above all)."""
        one, each = CollectorRegistry(), CollectorRegistry()
        buckets = (10, 100, 1000)
        h1 = Histogram("h", "h", registry=one, buckets=buckets)
        h2 = Histogram("h", "h", registry=each, buckets=buckets)
        values = [5, 10, 10.5, 100, 5000, 0.25, 5]
        for value in values:
            h1.observe(value)
        observe_each(h2, values)
        samples = lambda registry: [  # noqa: E731
            (s.name, s.labels, s.value) for m in registry.collect() for s in m.samples
            if not s.name.endswith("_created")
        ]  # fmt: skip
        self.assertEqual(samples(each), samples(one))


class L1WatcherMetricsTests(SynchronousTestCase):
    """``most_recently_scanned_l1_block``, ``events_loaded`` and the lag, per poll."""

    def test_scan_progress_and_lag(self):
        """Ranges of 100 blocks from block 5 to the head at 300: the scanned block and lag
        move with each poll, and the three priority txs are counted once."""
        registry = CollectorRegistry()
        harness = test_watcher.WatcherHarness(test_watcher.WatcherTests.chain_with_txs(None))
        watcher = harness.watcher
        watcher.metrics = L1WatcherMetrics(registry)
        watcher.next_l1_block = 5

        def value(name):
            return registry.get_sample_value(name, {"event": "priority_tx"})

        self.assertFalse(run(harness.client, watcher.poll_once()))
        self.assertEqual(value("most_recently_scanned_l1_block"), 104)
        self.assertEqual(value("l1_watcher_lag_blocks"), 300 - 104)
        self.assertEqual(value("events_loaded_total"), 2)  # at L1 blocks 10 and 20
        while not run(harness.client, watcher.poll_once()):
            pass
        self.assertEqual(value("most_recently_scanned_l1_block"), 300)
        self.assertEqual(value("l1_watcher_lag_blocks"), 0)
        self.assertEqual(value("events_loaded_total"), 3)
        self.assertTrue(run(harness.client, watcher.poll_once()))  # nothing new
        self.assertEqual(value("most_recently_scanned_l1_block"), 300)
        harness.chain.height = 310
        run(harness.client, watcher.poll_once())
        self.assertEqual(value("most_recently_scanned_l1_block"), 310)
        self.assertEqual(value("events_loaded_total"), 3)
