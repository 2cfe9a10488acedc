"""The workers' RPC metrics on the node's registry: a worker's ``MetricsPush`` over a real
link to a ``SequencerGateway``, exported by ``WorkerMetricsCollector`` with a ``worker``
label under the single process's names."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from twisted.internet.testing import MemoryReactorClock
from twisted.test.iosim import FakeTransport, connect
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.rpc.metrics import RpcMetrics
from zkos_tw.workers.frames import METRICS, Head
from zkos_tw.workers.gateway import SequencerGateway
from zkos_tw.workers.link import SequencerLink
from zkos_tw.workers.metrics import MetricsPush, WorkerMetricsCollector


class WorkerMetricsTests(SynchronousTestCase):
    def setUp(self):
        self.clock = MemoryReactorClock()
        self.gateway = SequencerGateway(None, lambda: Head(0, 0, 0))
        self.node_registry = CollectorRegistry(auto_describe=True)
        self.node_registry.register(WorkerMetricsCollector(self.gateway))
        self.workers = []
        for index in range(2):
            registry = CollectorRegistry(auto_describe=True)
            metrics = RpcMetrics(registry)
            link = SequencerLink(self.clock)
            server = self.gateway.factory(f"rpc-worker-{index}", index).buildProtocol(None)
            pump = connect(server, FakeTransport(server, True), link, FakeTransport(link, False))
            push = MetricsPush(registry, link, self.clock, interval=1.0)
            self.workers.append((metrics, link, pump, push, server))

    def flush(self):
        for _, _, pump, _, _ in self.workers:
            pump.flush()

    def text(self) -> str:
        return generate_latest(self.node_registry).decode()

    def test_samples_of_each_worker_with_a_worker_label(self):
        for index, (metrics, _, _, push, _) in enumerate(self.workers):
            for _ in range(index + 1):
                metrics.response_time.labels("eth_chainId").observe(0.001)
            push.start()
        self.flush()
        text = self.text()
        self.assertIn('response_time_seconds_count{method="eth_chainId",worker="0"} 1.0', text)
        self.assertIn('response_time_seconds_count{method="eth_chainId",worker="1"} 2.0', text)
        # One family, not one per worker: a single HELP / TYPE line.
        self.assertEqual(text.count("# TYPE response_time_seconds histogram"), 1)
        self.assertIn("# TYPE request_size_bytes histogram", text)

    def test_pushed_again_only_when_changed(self):
        metrics, link, pump, push, _ = self.workers[0]
        sent = []
        original = link.transport.write
        link.transport.write = lambda data: (sent.append(data[1]), original(data))
        push.start()
        self.clock.advance(1.0)
        self.clock.advance(1.0)
        self.assertEqual(sent, [METRICS])
        metrics.response_time.labels("eth_call").observe(0.5)
        self.clock.advance(1.0)
        pump.flush()
        self.assertEqual(sent, [METRICS, METRICS])
        self.assertIn('response_time_seconds_count{method="eth_call",worker="0"} 1.0', self.text())
        push.stop()

    def test_samples_go_with_the_worker(self):
        metrics, _, pump, push, server = self.workers[0]
        metrics.response_time.labels("eth_chainId").observe(0.001)
        push.start()
        pump.flush()
        self.assertIn('worker="0"', self.text())
        server.transport.loseConnection()
        pump.flush()
        self.assertNotIn('worker="0"', self.text())
        push.stop()
