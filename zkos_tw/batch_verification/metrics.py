"""Batch verification metrics (ours; the reference names none): both sides count what they
asked and answered, refusals and timeouts; the main node also times the signing step."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Seconds a batch spent collecting signatures (added commit latency).
_SIGNING_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class CollectorMetrics:
    """Main node: ``batch_verification_*``."""

    def __init__(self, registry: CollectorRegistry | None = None):
        registry = CollectorRegistry() if registry is None else registry
        self.requests = Counter(
            "batch_verification_requests", "Signing requests sent to signers", registry=registry
        )
        self.refusals = Counter(
            "batch_verification_refusals", "Refused answers received", registry=registry
        )
        self.timeouts = Counter(
            "batch_verification_timeouts",
            "Request rounds that ended without enough signatures",
            registry=registry,
        )
        self.dropped = Counter(
            "batch_verification_signatures_dropped",
            "Signatures not counted: invalid, outside the signer set, stale request",
            ["reason"],
            registry=registry,
        )
        self.protocol_errors = Counter(
            "batch_verification_protocol_errors",
            "Connections closed because the peer broke the protocol",
            registry=registry,
        )
        self.signers = Gauge(
            "batch_verification_connected_signers", "Signer connections now", registry=registry
        )
        self.signing_seconds = Histogram(
            "batch_verification_signing_seconds",
            "Seconds from asking for signatures to having the threshold, per batch",
            buckets=_SIGNING_SECONDS,
            registry=registry,
        )
        self.bypassed = Counter(
            "batch_verification_bypassed",
            "Batches already committed on L1, passed on without signing",
            registry=registry,
        )


class SignerMetrics:
    """External node: ``batch_verification_signer_*``."""

    def __init__(self, registry: CollectorRegistry | None = None):
        registry = CollectorRegistry() if registry is None else registry
        self.answers = Counter(
            "batch_verification_signer_answers",
            "Answers sent to the main node",
            ["result"],
            registry=registry,
        )
        self.timeouts = Counter(
            "batch_verification_signer_timeouts",
            "Requests refused because our own blocks did not arrive in time",
            registry=registry,
        )
        self.protocol_errors = Counter(
            "batch_verification_signer_protocol_errors",
            "Connections closed because the main node broke the protocol",
            registry=registry,
        )
        self.connected = Gauge(
            "batch_verification_signer_connected",
            "1 while connected to the main node",
            registry=registry,
        )
