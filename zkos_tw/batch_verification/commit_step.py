"""``SigningCommitFeeder``: the pipeline step between the gapless committer and the commit
sender when the main node collects signatures (``docs/batch_verification.md``).

For each proved batch, in order: if L1 already has it committed (the commit sender's L1
counter; after a restart the pipeline is re-fed from the last *executed* batch) it bypasses
signing as a plain ``CommitCommand`` — the sender skips it anyway. Otherwise the
``SignatureCollector`` gathers the threshold of signatures over the batch's commit data and the
batch goes on as a ``MultisigCommitCommand`` (or, when L1 has no validator set, as a plain
commit after the off-chain check; with a threshold of 0, a plain commit unsigned). A slow
signer holds the commit back; the queues before it fill and stall the steps before them.

The policy is re-read from L1 (``policy_reader``) before a batch when the last read is
``POLICY_REFRESH_SECONDS`` old, and when the commit sender reports a plain commit reverted with
``MultisigRequired`` (``after_revert``, the sender's ``revert_recovery``): that batch and the
plain ones after it are signed and sent again through ``commitBatchesMultisig``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from twisted.internet import defer

from zkos_tw.batch_verification.policy import MULTISIG_REQUIRED, POLICY_REFRESH_SECONDS
from zkos_tw.batcher.l1_stages import _Step
from zkos_tw.l1.calldata import CommitCommand, MultisigCommitCommand, commit_data
from zkos_tw.l1.client import L1Error
from zkos_tw.pipeline import BoundedQueue


class SigningCommitFeeder(_Step):
    """Proved envelopes from ``input`` → signed commit commands on ``output``."""

    name = "batch signing"

    def __init__(
        self,
        input: BoundedQueue,
        output: BoundedQueue,
        collector,
        *,
        chain_address: bytes,
        l1_committed: Callable[[], int | None],
        policy_reader=None,
        clock=None,
        refresh_seconds: float = POLICY_REFRESH_SECONDS,
    ):
        super().__init__()
        self._input = input
        self._output = output
        self._collector = collector
        self._chain = bytes(chain_address)
        self._l1_committed = l1_committed
        self._policy_reader = policy_reader
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._read_at = clock.seconds() if clock is not None else 0.0
        #: One ``collect`` at a time: the step and a re-sign after a revert share the collector.
        self._signing = defer.DeferredLock()
        self.signed: list[int] = []  # batches signed this run (tests read it)

    async def _step(self) -> None:
        envelope = await self._input.get()
        number = envelope.number
        if number <= (self._l1_committed() or 0):
            self.log.info("batch {batch} is already committed on L1; not signed", batch=number)
            self._collector.metrics.bypassed.inc()
            await self._output.put(CommitCommand(envelope))
            return
        if (
            self._policy_reader is not None
            and self._clock.seconds() - self._read_at >= self._refresh_seconds
        ):
            await self.refresh_policy()
        await self._output.put(await self.command(envelope))

    async def command(self, envelope) -> CommitCommand:
        """The commit command of ``envelope`` under the current policy (signed if it needs)."""
        policy = self._collector.policy
        if policy.threshold == 0:
            return CommitCommand(envelope)
        number = envelope.number
        meta = envelope.batch
        data = commit_data(meta.previous_stored_batch_info, envelope)
        await self._signing.acquire()
        try:
            signers, signatures = await self._collector.collect(
                number, meta.first_block_number, meta.last_block_number, self._chain, data
            )
        finally:
            self._signing.release()
        self.signed.append(number)
        del self.signed[:-100]
        self.log.info(
            "batch {batch} signed by {signers} in {seconds:.4f} s",
            batch=number,
            seconds=self._collector.last_signing_seconds,
            signers=", ".join("0x" + s.hex() for s in signers),
        )
        if self._collector.policy.on_l1:
            return MultisigCommitCommand(envelope, tuple(signers), tuple(signatures))
        return CommitCommand(envelope)

    async def refresh_policy(self) -> bool:
        """Re-read the policy from L1 into the collector; whether it could be read."""
        try:
            policy = await self._policy_reader()
        except L1Error as e:
            self.log.warn("batch verification: policy from L1 not re-read: {error}", error=e)
            return False
        self._read_at = self._clock.seconds()
        if policy != self._collector.policy:
            self.log.info(
                "batch verification policy changed on L1: {policy}",
                policy=json.dumps(policy.as_json()),
            )
            if len(policy.signers) < policy.threshold:
                self.log.error(
                    "batch verification threshold {threshold} but only {signers} signers "
                    "({source}): commits wait",
                    threshold=policy.threshold,
                    signers=len(policy.signers),
                    source=policy.source,
                )
            self._collector.policy = policy
        return True

    async def after_revert(self, commands: list, reason: str) -> list | None:
        """The commit sender's ``revert_recovery``: after ``MultisigRequired``, the policy
        re-read from L1 and ``commands`` (not on L1 yet) signed again as multisig commits;
        ``None`` (the stage stops) for any other revert or when L1 still has no policy."""
        if MULTISIG_REQUIRED not in reason or self._policy_reader is None:
            return None
        if not await self.refresh_policy() or not self._collector.policy.on_l1:
            return None
        self.log.warn(
            "batch verification: a plain commit reverted with {reason}; signing it again "
            "under the L1 policy",
            reason=MULTISIG_REQUIRED,
        )
        replacement = []
        for command in commands:
            if isinstance(command, MultisigCommitCommand):
                replacement.append(command)
            else:
                replacement.append(await self.command(command.envelope))
        return replacement
