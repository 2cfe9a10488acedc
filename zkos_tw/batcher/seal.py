"""Batch seal criteria (zksync-os-server.md §6.2): when the batcher closes a batch.

``BatchSealCriteria`` is pure: it is fed each block's pubdata size, L2->L1 log count, execution
version and the clock value at which the batcher received it, and answers whether the batch
must seal *before* the block (a limit would be exceeded with it: the block starts the next batch)
or *after* it (the batch timed out, or one block alone exceeds a limit). Seal reasons are the
reference's names and are counted in ``batcher_seal_reason{seal_reason}`` on the injected registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from zkos_tw.batcher.logs_tree import LOGS_TREE_SIZE

#: ``block_pubdata_limit_bytes``.
PUBDATA_LIMIT_BYTES = 110_000
#: ``MAX_NUMBER_OF_LOGS``.
L2_TO_L1_LOGS_LIMIT = LOGS_TREE_SIZE

TIMEOUT = "timeout"
BLOCKS_PER_BATCH = "blocks_per_batch"
NATIVE_CYCLES = "native_cycles"
PUBDATA = "pubdata"
L2_L1_LOGS = "l2_l1_logs"
EXECUTION_VERSION_CHANGE = "execution_version_change"


@dataclass(frozen=True)
class SealDecision:
    """What to do with one block: seal the open batch before it, after it, both, or neither."""

    before: str | None = None
    after: str | None = None


class BatchSealCriteria:
    """The running totals of the open batch and the §6.2 limits they are checked against."""

    def __init__(
        self,
        *,
        blocks_per_batch_limit: int = 10,
        batch_timeout: float = 1.0,
        pubdata_limit: int = PUBDATA_LIMIT_BYTES,
        l2_to_l1_logs_limit: int = L2_TO_L1_LOGS_LIMIT,
        native_limit: int | None = None,
        arm_timeout_from_block: int = 0,
        registry: CollectorRegistry | None = None,
    ):
        self.blocks_per_batch_limit = blocks_per_batch_limit
        self.batch_timeout = batch_timeout
        self.pubdata_limit = pubdata_limit
        self.l2_to_l1_logs_limit = l2_to_l1_logs_limit
        #: ``MAX_NATIVE_COMPUTATIONAL`` of the pinned VM; ``None`` leaves the criterion off.
        self.native_limit = native_limit
        #: The repositories' persisted block at startup: the timeout is armed only once a block
        #: numbered at least this is in the batch, so replayed blocks do not make tiny batches.
        self.arm_timeout_from_block = arm_timeout_from_block
        self._counter = None
        if registry is not None:
            self._counter = Counter(
                "batcher_seal_reason",
                "Sealed batches by seal reason",
                ["seal_reason"],
                registry=registry,
            )
        self._reset()

    @classmethod
    def from_config(cls, config, registry: CollectorRegistry | None = None) -> BatchSealCriteria:
        """The criteria of a ``BatcherConfig`` (``batcher_blocks_per_batch_limit``,
        ``batcher_batch_timeout``)."""
        return cls(
            blocks_per_batch_limit=config.blocks_per_batch_limit,
            batch_timeout=config.batch_timeout,
            registry=registry,
        )

    def _reset(self) -> None:
        self.blocks = 0
        self.pubdata = 0
        self.l2_to_l1_logs = 0
        self.native = 0
        self.execution_version: int | None = None
        self.first_block_time: float | None = None

    def _exceeded(
        self, blocks: int, native: int, pubdata: int, logs: int, version_changed: bool
    ) -> str | None:
        if blocks > self.blocks_per_batch_limit:
            return BLOCKS_PER_BATCH
        if self.native_limit is not None and native > self.native_limit:
            return NATIVE_CYCLES
        if pubdata > self.pubdata_limit:
            return PUBDATA
        if logs > self.l2_to_l1_logs_limit:
            return L2_L1_LOGS
        if version_changed:
            return EXECUTION_VERSION_CHANGE
        return None

    def add_block(
        self,
        pubdata_size: int,
        l2_to_l1_logs: int,
        execution_version: int,
        now: float,
        computational_native: int = 0,
        block_number: int | None = None,
    ) -> SealDecision:
        """Account one block received at clock value ``now``; the open batch's fate around it.

        ``computational_native`` is the block's ``computational_native_used``; a ``block_number``
        below ``arm_timeout_from_block`` does not arm the timeout (``None``: always arms)."""
        before = None
        if self.blocks:
            before = self._exceeded(
                self.blocks + 1,
                self.native + computational_native,
                self.pubdata + pubdata_size,
                self.l2_to_l1_logs + l2_to_l1_logs,
                execution_version != self.execution_version,
            )
            if before is not None:
                self._seal(before)
        self.blocks += 1
        self.native += computational_native
        self.pubdata += pubdata_size
        self.l2_to_l1_logs += l2_to_l1_logs
        self.execution_version = execution_version
        armed = block_number is None or block_number >= self.arm_timeout_from_block
        if self.first_block_time is None and armed:
            self.first_block_time = now
        after = self._exceeded(self.blocks, self.native, self.pubdata, self.l2_to_l1_logs, False)
        if after is None and self.timed_out(now):
            after = TIMEOUT
        if after is not None:
            self._seal(after)
        return SealDecision(before, after)

    def timed_out(self, now: float) -> bool:
        """Whether the open batch is non-empty and ``batch_timeout`` has passed since its first
        block."""
        return (
            self.first_block_time is not None and now - self.first_block_time >= self.batch_timeout
        )

    def seal_on_timeout(self, now: float) -> str | None:
        """For the batcher's timer: seal the open batch (returning ``timeout``) if it timed out."""
        if not self.timed_out(now):
            return None
        self._seal(TIMEOUT)
        return TIMEOUT

    def _seal(self, reason: str) -> None:
        if self._counter is not None:
            self._counter.labels(seal_reason=reason).inc()
        self._reset()
