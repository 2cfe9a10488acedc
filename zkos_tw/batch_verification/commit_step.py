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
``POLICY_REFRESH_SECONDS`` old, and when the commit sender reports a commit reverted because
L1's policy is not the one it was made under (``after_revert``, the sender's
``revert_recovery``), say a plain commit with ``MultisigRequired`` once the chain admin set a
validator set: that batch and the ones after it in the round are made again under the re-read
policy (signed, ``commitBatchesMultisig``) and sent again.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from twisted.internet import defer

from zkos_tw.batch_verification.policy import POLICY_REFRESH_SECONDS, POLICY_REVERTS
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
        """The commit command of ``envelope`` under the current policy (signed if it needs).
        When the policy changed while the signatures were collected (a re-read) and they do
        not satisfy the new one, they are collected again: L1 would reject them."""
        number = envelope.number
        meta = envelope.batch
        data = commit_data(meta.previous_stored_batch_info, envelope)
        while True:
            policy = self._collector.policy
            if policy.threshold == 0:
                return CommitCommand(envelope)
            await self._signing.acquire()
            try:
                signers, signatures = await self._collector.collect(
                    number, meta.first_block_number, meta.last_block_number, self._chain, data
                )
            finally:
                self._signing.release()
            current = self._collector.policy
            if current.threshold == 0:
                return CommitCommand(envelope)
            if len(signers) >= current.threshold and all(s in current.signers for s in signers):
                policy = current
                break
            self.log.info(
                "batch verification: the policy changed while batch {batch} was signed; "
                "collecting again",
                batch=number,
            )
        self.signed.append(number)
        del self.signed[:-100]
        self.log.info(
            "batch {batch} signed by {signers} in {seconds:.4f} s",
            batch=number,
            seconds=self._collector.last_signing_seconds,
            signers=", ".join("0x" + s.hex() for s in signers),
        )
        if policy.on_l1:
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
        """The commit sender's ``revert_recovery``. After a revert that means the L1 policy is
        not the one the commit was made under (``POLICY_REVERTS``: ``MultisigRequired``,
        ``NotEnoughSignatures``, ``SignerNotValidator``) the policy is re-read and
        ``commands`` (not on L1 yet) are made again under it. ``None`` (the stage stops) for
        any other revert, or when the re-read policy would make the same commands again."""
        if self._policy_reader is None or not any(e + "(" in reason for e in POLICY_REVERTS):
            return None
        before = self._collector.policy
        if not await self.refresh_policy():
            return None
        policy = self._collector.policy
        multisig = policy.on_l1 and policy.threshold > 0
        if policy == before and all(
            isinstance(c, MultisigCommitCommand) == multisig for c in commands
        ):
            return None
        self.log.warn(
            "batch verification: a commit reverted with {error}; making it again under the "
            "policy re-read from L1",
            error=reason.removeprefix("reverted: "),
        )
        return [await self.command(command.envelope) for command in commands]
