"""``SigningCommitFeeder``: the pipeline step between the gapless committer and the commit
sender when batches need signatures (``docs/batch_verification.md``).

For each proved batch, in order: if L1 already has it committed (the commit sender's L1
counter; after a restart the pipeline is re-fed from the last *executed* batch) it bypasses
signing as a plain ``CommitCommand`` — the sender skips it anyway. Otherwise the
``SignatureCollector`` gathers the threshold of signatures over the batch's commit data and the
batch goes on as a ``MultisigCommitCommand`` (or, when L1 has no validator set, as a plain
commit after the off-chain check). A slow signer holds the commit back; the queues before it
fill and stall the steps before them.
"""

from __future__ import annotations

from collections.abc import Callable

from zkos_tw.batcher.l1_stages import _Step
from zkos_tw.l1.calldata import CommitCommand, MultisigCommitCommand, commit_data
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
    ):
        super().__init__()
        self._input = input
        self._output = output
        self._collector = collector
        self._chain = bytes(chain_address)
        self._l1_committed = l1_committed
        self.signed: list[int] = []  # batches signed this run (tests read it)

    async def _step(self) -> None:
        envelope = await self._input.get()
        number = envelope.number
        if number <= (self._l1_committed() or 0):
            self.log.info("batch {batch} is already committed on L1; not signed", batch=number)
            self._collector.metrics.bypassed.inc()
            await self._output.put(CommitCommand(envelope))
            return
        meta = envelope.batch
        data = commit_data(meta.previous_stored_batch_info, envelope)
        signers, signatures = await self._collector.collect(
            number, meta.first_block_number, meta.last_block_number, self._chain, data
        )
        self.signed.append(number)
        del self.signed[:-100]
        self.log.info(
            "batch {batch} signed by {signers} in {seconds:.4f} s",
            batch=number,
            seconds=self._collector.last_signing_seconds,
            signers=", ".join("0x" + s.hex() for s in signers),
        )
        if self._collector.policy.on_l1:
            command = MultisigCommitCommand(envelope, tuple(signers), tuple(signatures))
        else:
            command = CommitCommand(envelope)
        await self._output.put(command)
