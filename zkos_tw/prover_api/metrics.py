"""The prover API's Prometheus metrics: jobs given out, proving time, refused proofs.

``prover_prove_time_seconds`` and ``prover_prove_time_per_tx_seconds`` carry the reference's
names and labels (§13.2: ``stage`` = ``fri`` | ``snark``, ``type`` = ``real`` | ``fake``, ``id``
= the prover's ``?id=``); the time is measured on the server, from the (last) assignment of the
job to the accepted submit. The reference has no counters of assignments and refusals; ours are
``prover_jobs_assigned_total{stage,type}`` and ``prover_rejected_proofs_total{stage,reason}``
(``reason`` = ``deserialization`` | ``verification`` | ``range``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

#: Seconds: a fake proof takes ~0.1-2 s, a re-execution of a batch up to minutes.
PROVE_TIME_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
PER_TX_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)


class ProverMetrics:
    """The metrics of one prover API on ``registry``."""

    def __init__(self, registry: CollectorRegistry):
        labels = ("stage", "type", "id")
        self.prove_time = Histogram(
            "prover_prove_time_seconds",
            "Time from assigning a proving job to accepting its proof",
            labels,
            buckets=PROVE_TIME_BUCKETS,
            registry=registry,
        )
        self.prove_time_per_tx = Histogram(
            "prover_prove_time_per_tx_seconds",
            "prover_prove_time_seconds divided by the transactions of the job",
            labels,
            buckets=PER_TX_BUCKETS,
            registry=registry,
        )
        self.jobs_assigned = Counter(
            "prover_jobs_assigned",
            "Proving jobs given to a prover (reassignments included)",
            ("stage", "type"),
            registry=registry,
        )
        self.rejected_proofs = Counter(
            "prover_rejected_proofs",
            "Submitted proofs the server refused",
            ("stage", "reason"),
            registry=registry,
        )

    def proved(self, stage: str, kind: str, prover: str, seconds: float, txs: int) -> None:
        self.prove_time.labels(stage=stage, type=kind, id=prover).observe(seconds)
        self.prove_time_per_tx.labels(stage=stage, type=kind, id=prover).observe(
            seconds / max(1, txs)
        )
