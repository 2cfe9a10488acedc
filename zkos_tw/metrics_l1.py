"""The rollup pipeline's L1 metrics with the reference's names (§5.6, §13.2): the stage latency
histogram, the batch number each stage reached, the L1 senders' operators, and where the chain
stands on L1.

* ``batcher_execution_stages_seconds{stage}``: seconds from ``BatchSealed`` to each later stage
  of a batch (``CommitL1TxSent`` ... ``ExecuteL1TxMined``), observed when the stage is reached.
* ``batcher_batch_number{stage}``: the last batch each stage reached.
* ``l1_sender_*{command}``: balance (ETH), nonce, gas and fees of each operator;
  ``l1_sender_stopped{command}`` is 1 once a sender's stage stopped (ours; the reference exits).
* ``l1_state_l1_operator_address{operation,operator_address}`` = 1.
* ``l1_state_batch_number{status}`` / ``l1_state_block_number{status}``: the last committed /
  proved / executed batch and its last L2 block as the L1 batch watcher sees them (ours).

``docs/metrics.md`` says what each one measures.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, Histogram

#: §5.6 stage names, in pipeline order.
STAGES = (
    "BatchSealed",
    "ProverInputStarted",
    "FriProverPicked",
    "FriProvedReal",
    "FriProvedFake",
    "FriProofStored",
    "CommitL1TxSent",
    "CommitL1TxMined",
    "SnarkProverPicked",
    "SnarkProvedReal",
    "SnarkProvedFake",
    "ProveL1TxSent",
    "ProveL1TxMined",
    "ExecuteL1TxSent",
    "ExecuteL1TxMined",
)
#: Seconds since a batch was sealed (100 ms .. 10 min).
_STAGE_SECONDS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120, 300, 600)
_GAS = (50_000, 100_000, 250_000, 500_000, 1e6, 2e6, 5e6, 1e7, 1.5e7)
_PER_TX_GAS = (100, 500, 1000, 2500, 5000, 10_000, 50_000, 100_000, 1e6)
_ETHER = (1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1.0)
_ETHER_PER_TX = (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01)


class PipelineMetrics:
    """``batcher_execution_stages_seconds`` and ``batcher_batch_number``, shared by every stage
    of the pipeline (one instance per registry)."""

    def __init__(self, registry: CollectorRegistry):
        self.stage_seconds = Histogram(
            "batcher_execution_stages_seconds",
            "Seconds from BatchSealed to each later stage of a batch",
            ["stage"],
            buckets=_STAGE_SECONDS,
            registry=registry,
        )
        self.last_batch = Gauge(
            "batcher_batch_number", "Last batch each stage reached", ["stage"], registry=registry
        )

    def stage_reached(self, envelope, stage: str, now: float) -> None:
        """Stamp ``envelope`` with ``stage`` at ``now``; observe the latency since it was sealed
        (batches sealed before this run have no ``BatchSealed`` time and are not observed)."""
        envelope.stage_times[stage] = now
        sealed = envelope.stage_times.get("BatchSealed")
        if sealed is not None and stage != "BatchSealed":
            self.stage_seconds.labels(stage=stage).observe(max(0.0, now - sealed))


class L1SenderMetrics(PipelineMetrics):
    """The ``l1_sender_*`` metrics the senders update, with the pipeline's."""

    def __init__(self, registry: CollectorRegistry):
        super().__init__(registry)
        labels = ["command"]

        def gauge(name, text):
            return Gauge(f"l1_sender_{name}", text, labels, registry=registry)

        def histogram(name, text, buckets):
            return Histogram(f"l1_sender_{name}", text, labels, buckets=buckets, registry=registry)

        self.balance = gauge("balance", "Operator balance on L1, ETH")
        self.nonce = gauge("nonce", "Operator nonce on L1 (latest)")
        self.parallel_transactions = gauge("parallel_transactions", "Transactions of the round")
        self.stopped = gauge("stopped", "1 once the sender's stage stopped")
        self.gas_used = histogram("gas_used", "Gas used by one L1 transaction", _GAS)
        self.gas_used_per_l2_tx = histogram(
            "gas_used_per_l2_tx", "L1 gas per L2 transaction", _PER_TX_GAS
        )
        self.fee_ether = histogram("l1_transaction_fee_ether", "Fee of one L1 transaction", _ETHER)
        self.fee_per_l2_tx_ether = histogram(
            "l1_transaction_fee_per_l2_tx_ether", "L1 fee per L2 transaction", _ETHER_PER_TX
        )
        self.operator_address = Gauge(
            "l1_state_l1_operator_address",
            "Operator address of each L1 operation (always 1)",
            ["operation", "operator_address"],
            registry=registry,
        )

    def operator(self, command: str, address: str, balance_ether: float, nonce: int) -> None:
        """A sender prepared: its address, balance and nonce."""
        self.operator_address.labels(operation=command, operator_address=address).set(1)
        self.balance.labels(command=command).set(balance_ether)
        self.nonce.labels(command=command).set(nonce)


class BatchProgressMetrics:
    """``l1_state_batch_number{status}`` / ``l1_state_block_number{status}`` from a
    ``BatchProgress`` (``update`` is its listener)."""

    def __init__(self, registry: CollectorRegistry):
        self.batch = Gauge(
            "l1_state_batch_number",
            "Last batch committed / proved / executed on L1",
            ["status"],
            registry=registry,
        )
        self.block = Gauge(
            "l1_state_block_number",
            "Last L2 block of the last committed / proved / executed batch",
            ["status"],
            registry=registry,
        )

    def update(self, progress) -> None:
        for status in ("committed", "proved", "executed"):
            self.batch.labels(status=status).set(getattr(progress, f"last_{status}_batch"))
            self.block.labels(status=status).set(getattr(progress, f"last_{status}_block"))
