"""The RPC metrics of the reference (§13.2), on the registry the node passes in.

``method`` is the full JSON-RPC method name (``eth_call``), ``batch`` for a whole batch, or
``unknown`` for requests that name no known method (keeping label cardinality bounded).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

_SIZE_BUCKETS = (64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216)
_COUNT_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class RpcMetrics:
    """``response_time_seconds``, ``request_size_bytes``, ``response_size_bytes`` and
    ``requests_in_batch_count``, each labelled by ``method``."""

    def __init__(self, registry: CollectorRegistry):
        self.response_time = Histogram(
            "response_time_seconds",
            "JSON-RPC response time per method",
            ["method"],
            registry=registry,
        )
        self.request_size = Histogram(
            "request_size_bytes",
            "JSON-RPC request size per method (the whole body for a batch)",
            ["method"],
            buckets=_SIZE_BUCKETS,
            registry=registry,
        )
        self.response_size = Histogram(
            "response_size_bytes",
            "JSON-RPC response size per method (the whole body for a batch)",
            ["method"],
            buckets=_SIZE_BUCKETS,
            registry=registry,
        )
        self.requests_in_batch = Histogram(
            "requests_in_batch_count",
            "Requests in one JSON-RPC batch (method=batch)",
            ["method"],
            buckets=_COUNT_BUCKETS,
            registry=registry,
        )
