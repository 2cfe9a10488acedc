"""The workers' RPC metrics on the node's ``/metrics`` (docs/rpc-workers.md, "Metrics").

Each worker records the RPC metrics (``zkos_tw.rpc.metrics``) on its own registry and sends
them to the node as a ``METRICS`` frame every ``PUSH_INTERVAL`` seconds while they change
(``MetricsPush``). The node keeps each worker's last frame (``SequencerGateway.worker_metrics``)
and ``WorkerMetricsCollector`` exports them on the node's registry under the names of the
single process, each sample labelled with ``worker`` (the worker's index). A worker's samples
go when its link closes; a restarted worker starts its counters from zero again, which
Prometheus reads as a counter reset.
"""

from __future__ import annotations

from prometheus_client.metrics_core import Metric
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from zkos_tw.workers import frames as f

log = Logger()

#: Seconds between two ``METRICS`` frames of a worker (none while nothing changed). A push
#: costs ~5 ms of CPU with 20 methods in use (``registry.collect()`` is most of it, ~80 KB
#: of JSON): ~0.3 % of a core every 2 s.
PUSH_INTERVAL = 2.0


def registry_families(registry) -> list:
    """``registry``'s metrics as ``METRICS`` frame families."""
    return [
        [
            metric.name,
            metric.type,
            metric.documentation,
            [[s.name, s.labels, s.value] for s in metric.samples],
        ]
        for metric in registry.collect()
    ]


class MetricsPush:
    """(worker) Sends ``registry``'s families over ``link`` every ``interval`` seconds, when
    they differ from the last ones sent."""

    def __init__(self, registry, link, clock, interval: float = PUSH_INTERVAL):
        self._registry = registry
        self._link = link
        self._last = None
        self._loop = LoopingCall(self.push)
        self._loop.clock = clock
        self._interval = interval

    def start(self) -> None:
        self._loop.start(self._interval, now=True)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def push(self) -> None:
        families = registry_families(self._registry)
        if families != self._last:
            self._last = families
            self._link.send_metrics(families)


class WorkerMetricsCollector:
    """(node) A prometheus_client collector of the workers' last ``METRICS`` frames, kept by
    ``gateway`` (``worker_metrics``: index -> frame body), with a ``worker`` label."""

    def __init__(self, gateway):
        self._gateway = gateway

    def describe(self):
        # Nothing to reserve: the names are the workers', known once they sent them.
        return []

    def collect(self):
        merged: dict[str, Metric] = {}
        for index, body in sorted(self._gateway.worker_metrics.items()):
            try:
                families = f.decode_metrics(body)
                for name, kind, documentation, samples in families:
                    family = merged.get(name)
                    if family is None:
                        family = merged[name] = Metric(name, documentation, kind)
                    for sample_name, labels, value in samples:
                        family.add_sample(
                            sample_name, {**labels, "worker": str(index)}, float(value)
                        )
            except (f.FrameError, ValueError, TypeError) as e:
                log.warn("metrics of RPC worker {index} unreadable: {error}", index=index, error=e)
        return list(merged.values())
