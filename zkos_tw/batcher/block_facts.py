"""``StorageBlockFacts``: the batcher's ``block_facts(n)`` read from block storage.

For a stored block: the tx count (the block's transaction hashes), the execution version (its WAL
record's block context), the L2->L1 logs of its successful transactions (their receipts), and the
pubdata size given by the injected ``pubdata_size(n)``. Block pubdata is computed by the commitment
code (``storage.block_pubdata``, issue #11 item 2), so it is injected rather than read here.
``computational_native_used`` is not stored yet, so it is 0 and the ``native_cycles`` criterion
never fires. TODO(#11): store it with the block once the VM reports it.
"""

from __future__ import annotations

from collections.abc import Callable

from zkos_tw.batcher.service import BlockFacts
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.sequencer.wal import ReplayRecord


class StorageBlockFacts:
    """``block_facts(n)`` over an ``IBlockStorage``; ``None`` for a block not stored yet."""

    def __init__(self, storage, pubdata_size: Callable[[int], int]):
        self._storage = storage
        self._pubdata_size = pubdata_size

    def __call__(self, number: int) -> BlockFacts | None:
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
