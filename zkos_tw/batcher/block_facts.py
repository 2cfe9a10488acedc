"""``StorageBlockFacts``: the batcher's ``block_facts(n)`` read from block storage.

For a stored block: the tx count (the block's transaction hashes), the execution version (its WAL
record's block context), the L2->L1 logs of its successful transactions (their receipts), and the
pubdata size given by the injected ``pubdata_size(n)``. Block pubdata is computed by the commitment
code (``storage.block_pubdata``, issue #11 item 2), so it is injected rather than read here.
``computational_native_used`` is not stored yet, so it is 0 and the ``native_cycles`` criterion
never fires. TODO(#11): store it with the block once the VM reports it.

``block_stored(block)`` (a ``BlockSink`` listener, added before the batcher's) remembers the
counts of a block just stored from the ``SealedBlock`` itself: the receipts storage holds are
the encoding of exactly those, so the facts are the same, without decoding every receipt of the
block again. A block it was not given (a restart, a replay) is read from storage as before.
"""

from __future__ import annotations

from collections.abc import Callable

from zkos_tw.batcher.service import BlockFacts
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.sequencer.wal import ReplayRecord

#: Blocks ``block_stored`` remembers at most (the batcher reads each one right after it).
REMEMBERED_BLOCKS = 64


def counts_of(block) -> tuple[int, int, int]:
    """``(tx count, L2->L1 logs of successful transactions, execution version)`` of a
    ``SealedBlock``."""
    logs = sum(len(r.l2_to_l1_logs) for r in block.receipts if r.succeeded)
    return len(block.receipts), logs, block.context.execution_version


class StorageBlockFacts:
    """``block_facts(n)`` over an ``IBlockStorage``; ``None`` for a block not stored yet.
    Safe to call from the pipeline thread while ``block_stored`` runs on the reactor."""

    def __init__(self, storage, pubdata_size: Callable[[int], int]):
        self._storage = storage
        self._pubdata_size = pubdata_size
        self._remembered: dict[int, tuple[int, int, int]] = {}

    def block_stored(self, block) -> None:
        """The ``BlockSink`` listener: remember the counts of the block just stored."""
        remembered = self._remembered
        remembered[block.number] = counts_of(block)
        if len(remembered) > REMEMBERED_BLOCKS:
            for number in sorted(remembered)[: len(remembered) - REMEMBERED_BLOCKS]:
                remembered.pop(number, None)

    def __call__(self, number: int) -> BlockFacts | None:
        counts = self._remembered.pop(number, None)
        if counts is not None:
            tx_count, logs, version = counts
            return BlockFacts(
                number=number,
                pubdata_size=self._pubdata_size(number),
                l2_to_l1_logs=logs,
                tx_count=tx_count,
                execution_version=version,
            )
        block = self._storage.block(number)
        if block is None:
            return None
        wal = ReplayRecord.decode(self._storage.wal_record(number))
        logs = 0
        for tx_hash in block.tx_hashes:
            receipt = StoredReceipt.decode(self._storage.receipt(tx_hash))
            if receipt.succeeded:
                logs += len(receipt.l2_to_l1_logs)
        return BlockFacts(
            number=number,
            pubdata_size=self._pubdata_size(number),
            l2_to_l1_logs=logs,
            tx_count=len(block.tx_hashes),
            execution_version=wal.context.execution_version,
        )
