"""``StorageBlockFacts``: the batcher's ``block_facts(n)`` read from block storage.

For a stored block: the tx count (the block's transaction hashes), the execution version (its WAL
record's block context), the L2->L1 logs of its successful transactions (their receipts), and the
pubdata size given by the injected ``pubdata_size(n)``. Block pubdata is computed by the commitment
code (``storage.block_pubdata``, issue #11 item 2), so it is injected rather than read here.
``computational_native_used`` is not stored yet, so it is 0 and the ``native_cycles`` criterion
never fires. TODO(#11): store it with the block once the VM reports it.

``BlockMemory`` (a ``BlockSink`` listener, added before the batcher's) keeps the blocks just
stored as the sink handed them over; ``StorageBlockFacts`` and ``build_commit_batch_info`` take
what they need of such a block from its ``BlockSummary`` instead of reading and decoding every
receipt and the WAL record again: the stored records are the encoding of exactly those objects,
so the facts and the commit info are the same. A block it does not hold (a restart, a replay,
one beyond its bound) is read from storage as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from zkos_tw.batcher.pubdata import log_bytes
from zkos_tw.batcher.service import BlockFacts
from zkos_tw.execution.l1_transactions import PRIORITY_TX_TYPE, UPGRADE_TX_TYPE
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.sequencer.wal import ReplayRecord

#: Blocks ``BlockMemory`` holds at most (the batcher reads each one right after it is stored
#: and forgets it once its batch is sealed, so it holds about one batch).
REMEMBERED_BLOCKS = 32


@dataclass(frozen=True)
class BlockSummary:
    """What the batcher's facts and a batch's commit info need of one stored block."""

    number: int
    block_hash: bytes
    context: object  # zkos_tw.sequencer.blocks.BlockContext (the WAL record's)
    tx_count: int
    #: L2->L1 logs of the successful transactions (the seal criterion counts those)
    succeeded_logs: int
    #: hashes of the block's priority (0x7f) and upgrade (0x7e) transactions, in order
    priority: tuple[bytes, ...]
    upgrades: tuple[bytes, ...]
    #: ``log_bytes`` of every receipt's L2->L1 logs, in order (the logs tree's leaves)
    logs: tuple[bytes, ...]

    @classmethod
    def of(cls, block) -> BlockSummary:
        """The summary of a ``SealedBlock``."""
        priority, upgrades, logs = [], [], []
        succeeded_logs = 0
        for tx, receipt in zip(block.transactions, block.receipts, strict=True):
            if receipt.tx_type == PRIORITY_TX_TYPE:
                priority.append(tx.tx_hash)
            elif receipt.tx_type == UPGRADE_TX_TYPE:
                upgrades.append(tx.tx_hash)
            if receipt.l2_to_l1_logs:
                logs.extend(log_bytes(entry) for entry in receipt.l2_to_l1_logs)
                if receipt.succeeded:
                    succeeded_logs += len(receipt.l2_to_l1_logs)
        return cls(
            block.number,
            block.hash,
            block.context,
            len(block.receipts),
            succeeded_logs,
            tuple(priority),
            tuple(upgrades),
            tuple(logs),
        )


class BlockMemory:
    """The blocks just stored, until their batch is sealed; thread-safe (``block_stored`` runs
    on the reactor, ``summary`` in the pipeline thread).

    ``block_stored`` only keeps a reference (nothing is computed on the reactor); the first
    ``summary(n)`` turns the block into its ``BlockSummary`` and drops the block itself."""

    def __init__(self, limit: int = REMEMBERED_BLOCKS):
        self._limit = limit
        self._lock = threading.Lock()
        self._blocks: dict[int, object] = {}

    def __len__(self) -> int:
        return len(self._blocks)

    def block_stored(self, block) -> None:
        """The ``BlockSink`` listener."""
        with self._lock:
            blocks = self._blocks
            blocks[block.number] = block
            if len(blocks) > self._limit:
                for number in sorted(blocks)[: len(blocks) - self._limit]:
                    del blocks[number]

    def summary(self, number: int) -> BlockSummary | None:
        """Block ``number``'s summary, or ``None`` when this memory does not hold it."""
        with self._lock:
            found = self._blocks.get(number)
        if found is None or isinstance(found, BlockSummary):
            return found
        summary = BlockSummary.of(found)
        with self._lock:
            if number in self._blocks:
                self._blocks[number] = summary
        return summary

    def forget_through(self, number: int) -> None:
        """Drop every block up to ``number`` (its batch is sealed)."""
        with self._lock:
            for n in [n for n in self._blocks if n <= number]:
                del self._blocks[n]


class StorageBlockFacts:
    """``block_facts(n)`` over an ``IBlockStorage``; ``None`` for a block not stored yet.
    Blocks ``memory`` (a ``BlockMemory``) holds are not read from storage but for the pubdata
    size."""

    def __init__(self, storage, pubdata_size: Callable[[int], int], memory=None):
        self._storage = storage
        self._pubdata_size = pubdata_size
        self._memory = memory

    def __call__(self, number: int) -> BlockFacts | None:
        summary = self._memory.summary(number) if self._memory is not None else None
        if summary is not None:
            return BlockFacts(
                number=number,
                pubdata_size=self._pubdata_size(number),
                l2_to_l1_logs=summary.succeeded_logs,
                tx_count=summary.tx_count,
                execution_version=summary.context.execution_version,
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
