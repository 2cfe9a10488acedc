"""A prover worker's own Prometheus metrics (``zkosctl prover --metrics-port``): how fast it
re-executes batches from their witness, and how its jobs ended. The server's view of the same
jobs is ``prover_prove_time_seconds`` (``zkos_tw/prover_api/metrics.py``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from zkos_tw.prover_api.metrics import PROVE_TIME_BUCKETS


class WorkerMetrics:
    """``prover_worker_*`` on ``registry``."""

    def __init__(self, registry: CollectorRegistry):
        self.reexecution_seconds = Histogram(
            "prover_worker_reexecution_seconds",
            "Time to prove one batch from its prover input (witness checks, EVM, tree)",
            buckets=PROVE_TIME_BUCKETS,
            registry=registry,
        )
        self.gas = Counter(
            "prover_worker_reexecuted_gas", "Gas of the batches re-executed", registry=registry
        )
        self.blocks = Counter(
            "prover_worker_reexecuted_blocks", "Blocks re-executed", registry=registry
        )
        self.transactions = Counter(
            "prover_worker_reexecuted_transactions",
            "Transactions re-executed",
            registry=registry,
        )
        self.gas_per_second = Gauge(
            "prover_worker_reexecution_gas_per_second",
            "Gas per second of the last batch re-executed",
            registry=registry,
        )
        self.input_bytes = Counter(
            "prover_worker_prover_input_bytes", "Prover input bytes received", registry=registry
        )
        self.jobs = Counter(
            "prover_worker_jobs",
            "Jobs picked, by how they ended",
            ("stage", "result"),
            registry=registry,
        )

    def reexecuted(self, proof, input_bytes: int) -> None:
        self.reexecution_seconds.observe(proof.seconds)
        self.gas.inc(proof.gas_used)
        self.blocks.inc(proof.blocks)
        self.transactions.inc(proof.transactions)
        self.input_bytes.inc(input_bytes)
        if proof.seconds > 0:
            self.gas_per_second.set(proof.gas_used / proof.seconds)
