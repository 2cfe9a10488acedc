"""Filters across workers: two workers' ``SequencerLink`` to one ``SequencerGateway`` over
in-memory connections, each with its ``WorkerFilterRegistry``; a filter installed on one is
polled, read and uninstalled through the other (the node relays), and a filter of a worker
that is gone is not found."""

from __future__ import annotations

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.testing import MemoryReactorClock
from twisted.test.iosim import FakeTransport, connect
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.rpc.codec import BlockId, LogFilter
from zkos_tw.rpc.errors import JsonRpcError
from zkos_tw.workers.filters import WorkerFilterRegistry, filter_owner, worker_filter_id
from zkos_tw.workers.frames import Head
from zkos_tw.workers.gateway import SequencerGateway
from zkos_tw.workers.link import SequencerLink


class FakeBackend:
    """What ``FilterRegistry`` reads: the newest block, blocks by number, logs, pending."""

    def __init__(self):
        self.latest = 3

    def latest_block_number(self):
        return self.latest

    def block_by_number(self, number, full):
        return {"hash": "0x%064x" % number}

    def logs(self, first, last, addresses, topics, limit):
        return [{"blockNumber": hex(n), "logIndex": "0x0"} for n in range(first, last + 1)]

    def add_pending_transaction_listener(self, listener):
        return lambda: None


class Worker:
    def __init__(self, clock, gateway, index):
        self.backend = FakeBackend()
        self.link = SequencerLink(clock)
        self.filters = WorkerFilterRegistry(
            self.backend,
            clock,
            index=index,
            link=self.link,
            ttl=60,
            max_blocks=1000,
            max_logs=1000,
        )
        server = gateway.factory(f"rpc-worker-{index}", index).buildProtocol(None)
        self.server = server
        self.pump = connect(
            server, FakeTransport(server, True), self.link, FakeTransport(self.link, False)
        )


class FilterIdTests(SynchronousTestCase):
    def test_id_names_its_worker(self):
        """The low 16 bits are the worker's index; ids are random otherwise."""
        ids = {worker_filter_id(7) for _ in range(50)}
        self.assertEqual(len(ids), 50)
        self.assertEqual({filter_owner(i) for i in ids}, {7})
        self.assertTrue(all(i == i.lower() and i.startswith("0x") for i in ids))
        self.assertIsNone(filter_owner("0xnothex"))


class CrossWorkerFilterTests(SynchronousTestCase):
    def setUp(self):
        self.clock = MemoryReactorClock()
        self.gateway = SequencerGateway(None, lambda: Head(3, 3, 3))
        self.workers = [Worker(self.clock, self.gateway, i) for i in range(2)]

    def flush(self):
        for _ in range(4):
            self.clock.advance(0)
            for worker in self.workers:
                worker.pump.flush()

    def run_(self, call):
        """The Deferred of ``call`` (a coroutine or a Deferred) once the links are flushed."""
        d = ensureDeferred(call)
        self.flush()
        return d

    def test_block_filter_polled_through_the_other_worker(self):
        """Installed on worker 0, polled on worker 1: worker 0's filter answers (new block
        hashes once, then nothing), and worker 1 keeps no filter of its own."""
        a, b = self.workers
        filter_id = self.successResultOf(self.run_(a.filters.install("block")))
        self.assertEqual(filter_owner(filter_id), 0)
        a.backend.latest = 5
        changes = self.successResultOf(self.run_(b.filters.changes(filter_id)))
        self.assertEqual(changes, ["0x%064x" % 4, "0x%064x" % 5])
        again = self.successResultOf(self.run_(b.filters.changes(filter_id)))
        self.assertEqual(again, [])
        self.assertEqual(b.filters.filters, {})
        self.assertEqual(self.gateway._relayed, {})

    def test_filter_logs_and_uninstall_through_the_other_worker(self):
        a, b = self.workers
        log_filter = LogFilter(from_block=BlockId(number=1), to_block=BlockId(number=2))
        filter_id = self.successResultOf(self.run_(a.filters.install("log", log_filter)))
        logs = self.successResultOf(self.run_(b.filters.logs(filter_id)))
        self.assertEqual([entry["blockNumber"] for entry in logs], ["0x1", "0x2"])
        self.assertIs(self.successResultOf(self.run_(b.filters.uninstall(filter_id))), True)
        self.assertEqual(a.filters.filters, {})
        self.assertIs(self.successResultOf(self.run_(b.filters.uninstall(filter_id))), False)
        failure = self.failureResultOf(self.run_(b.filters.changes(filter_id)), JsonRpcError)
        self.assertEqual(failure.value.message, "filter not found")
        self.assertEqual(failure.value.code, -32603)

    def test_filter_of_a_worker_not_linked(self):
        """An id naming worker 9 (none): ``filter not found``, from the node."""
        b = self.workers[1]
        failure = self.failureResultOf(
            self.run_(b.filters.changes(worker_filter_id(9))), JsonRpcError
        )
        self.assertEqual(failure.value.message, "filter not found")

    def test_owner_gone_while_asked(self):
        """The owner's link closes before it answers: the asker gets ``filter not found``."""
        a, b = self.workers
        filter_id = self.successResultOf(self.run_(a.filters.install("block")))
        a.link.on_filter_call = lambda call, filter_id: Deferred()  # worker 0 hangs
        asked = ensureDeferred(b.filters.changes(filter_id))
        self.flush()
        self.assertNoResult(asked)
        a.server.transport.loseConnection()
        self.flush()
        self.assertEqual(
            self.failureResultOf(asked, JsonRpcError).value.message, "filter not found"
        )
        self.assertEqual(self.gateway._relayed, {})
