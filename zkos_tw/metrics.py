"""The node's Prometheus registry and the general metrics of the reference (§13.2).

Every component registers its metrics on the registry it is given (``create_registry()`` for a
node, a fresh one per test), never on prometheus_client's global default registry.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Gauge, Info
from prometheus_client.exposition import choose_encoder
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from twisted.web.resource import Resource

import zkos_tw


def create_registry(with_process: bool = True) -> CollectorRegistry:
    """A registry with the process and platform collectors (CPU, memory, fds, Python version)."""
    registry = CollectorRegistry(auto_describe=True)
    if with_process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    return registry


class NodeMetrics:
    """The general metrics: ``process_started_at``, ``chain_id``, ``startup_time``, fee collector."""

    def __init__(self, registry: CollectorRegistry, role: str, chain_id: int, fee_collector: str):
        self.started_at = Gauge(
            "process_started_at",
            "Unix time the node process started",
            ["version", "role"],
            registry=registry,
        )
        self.started_at.labels(version=zkos_tw.__version__, role=role).set(time.time())
        self.chain_id = Gauge("chain_id", "L2 chain id", registry=registry)
        self.chain_id.set(chain_id)
        self.fee_collector = Info(
            "fee_collector_address", "Block coinbase (fee collector)", registry=registry
        )
        self.fee_collector.info({"fee_collector_address": fee_collector})
        self.startup_time = Gauge(
            "startup_time",
            "Seconds from process start to a serving node",
            ["stage"],
            registry=registry,
        )


class MetricsPage(Resource):
    """``GET /metrics``: the registry in the Prometheus text format (or OpenMetrics if asked).

    Rendered synchronously on the reactor: collecting our registry takes well under a millisecond,
    so there is no need for prometheus_client's WSGI resource and its thread pool.
    """

    isLeaf = True

    def __init__(self, registry: CollectorRegistry):
        super().__init__()
        self._registry = registry

    def render_GET(self, request):
        accept = (request.getHeader(b"accept") or b"").decode("latin-1")
        encoder, content_type = choose_encoder(accept)
        request.setHeader(b"content-type", content_type.encode())
        return encoder(self._registry)

    def render_HEAD(self, request):
        return self.render_GET(request)
