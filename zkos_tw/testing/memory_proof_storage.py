"""``MemoryProofStorage``: ``IProofStorage`` in a dictionary, for tests and development nodes."""

from __future__ import annotations

from bisect import insort

from zope.interface import implementer

from zkos_tw.batcher.info import BatchEnvelope
from zkos_tw.batcher.proof_storage import find_batch_for_block
from zkos_tw.interfaces import IProofStorage


@implementer(IProofStorage)
class MemoryProofStorage:
    """Envelopes by batch number; ``stage_times`` are dropped, as the file codec drops them."""

    def __init__(self) -> None:
        self._envelopes: dict[int, BatchEnvelope] = {}
        self._numbers: list[int] = []

    def put(self, envelope: BatchEnvelope) -> None:
        """Store (or overwrite) ``envelope``; ``ValueError`` if it has no FRI proof."""
        if envelope.fri_proof is None:
            raise ValueError(f"batch {envelope.number} has no FRI proof to store")
        if envelope.number not in self._envelopes:
            insort(self._numbers, envelope.number)
        self._envelopes[envelope.number] = BatchEnvelope(envelope.batch, envelope.fri_proof)

    def get(self, batch_number: int) -> BatchEnvelope | None:
        """The stored envelope of ``batch_number``, or ``None``."""
        return self._envelopes.get(batch_number)

    def latest_batch(self) -> int | None:
        """The highest stored batch number, or ``None``."""
        return self._numbers[-1] if self._numbers else None

    def batch_for_block(self, block_number: int) -> int | None:
        """The stored batch whose block range holds ``block_number``, or ``None``."""
        return find_batch_for_block(self, self._numbers, block_number)
