"""The replay server's metrics (ours; the reference has none for its 3053 server)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ReplayServerMetrics:
    """Connected ENs, what they were sent, and refused requests."""

    def __init__(self, registry: CollectorRegistry | None = None):
        registry = CollectorRegistry() if registry is None else registry
        self.clients = Gauge(
            "replay_server_clients", "Connections streaming blocks now", registry=registry
        )
        self.records_sent = Counter(
            "replay_server_records_sent", "Replay records written to clients", registry=registry
        )
        self.bytes_sent = Counter(
            "replay_server_sent_bytes", "Bytes written to replay clients", registry=registry
        )
        self.refused = Counter(
            "replay_server_refused", "Requests answered with 400 and closed", registry=registry
        )
