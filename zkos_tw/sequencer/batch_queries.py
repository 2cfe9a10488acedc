"""Batch lookups for the ``zks_`` RPC methods: batch numbers, ranges, details, L2->L1 log proofs.

``BatchQueries`` reads block storage (``IBlockStorage``), the batch store (``IBatchStore``, or
``None`` before the node has one: then no block is in a batch yet) and the L1 progress
(``zkos_tw.l1.batch_watcher.BatchProgress``, or ``None``: nothing is known to be on L1).

Batch 0 is the genesis batch (block 0); the batcher stores batches from 1, so batch 0 is answered
without the store. Shapes follow ZKsync Era's public ``zks_`` docs (camelCase keys, plain JSON
numbers); ``zks_getL2ToL1LogProof`` follows the reference exactly (zksync-os-server.md §3.4),
with its "executed" guard fixed to compare a batch number with a batch number (§14.2). See
``docs/rpc.md`` for every field we cannot know.
"""

from __future__ import annotations

from zkos_tw.batcher.logs_tree import logs_root_hash, proof
from zkos_tw.batcher.pubdata import log_bytes
from zkos_tw.execution.l1_transactions import PRIORITY_TX_TYPE, UPGRADE_TX_TYPE
from zkos_tw.rpc.errors import BackendError
from zkos_tw.sequencer.blocks import BlockHeader
from zkos_tw.sequencer.receipts import StoredReceipt

L1_TX_TYPES = (PRIORITY_TX_TYPE, UPGRADE_TX_TYPE)
#: The proof's first word: version 1, path length + 1, no batch proof, final node (§3.4).
PROOF_VERSION = 1


def _hx(value: bytes) -> str:
    return "0x" + value.hex()


def proof_metadata(path_length: int) -> bytes:
    """``version || path length + 1 || batch proof length 0 || final node 1 || 0^28``."""
    return bytes([PROOF_VERSION, path_length + 1, 0, 1]) + bytes(28)


class BatchQueries:
    """Answers the batch methods over storage, the batch store and the L1 progress."""

    def __init__(self, storage, batch_store=None, progress=None):
        self._storage = storage
        self._batch_store = batch_store
        self._progress = progress

    # -- where blocks and batches are ----------------------------------------------------------

    def latest_batch_number(self) -> int:
        """The newest sealed batch (0, the genesis batch, when none is stored)."""
        last = self._batch_store.last_batch() if self._batch_store is not None else None
        return 0 if last is None else last.number

    def _meta(self, number: int):
        if self._batch_store is None:
            return None
        return self._batch_store.batch(number)

    def block_range(self, number: int) -> tuple[int, int] | None:
        """``(first, last)`` block of sealed batch ``number``, or ``None``."""
        if number == 0:
            return 0, 0
        meta = self._meta(number)
        return None if meta is None else (meta.first_block_number, meta.last_block_number)

    def batch_of_block(self, block_number: int) -> int | None:
        """The sealed batch holding ``block_number``, or ``None``."""
        if block_number == 0:
            return 0
        if self._batch_store is None:
            return None
        return self._batch_store.batch_for_block(block_number)

    def _status(self, batch: int | None) -> str:
        """Era's ``status``: ``verified`` once executed on L1, else ``sealed``."""
        if batch is not None and (
            batch == 0
            or (self._progress is not None and batch <= self._progress.last_executed_batch)
        ):
            return "verified"
        return "sealed"

    def _counts(self, block) -> tuple[int, int]:
        """(L1 txs, L2 txs) of a stored block, from its receipts."""
        l1 = 0
        for tx_hash in block.tx_hashes:
            raw = self._storage.receipt(tx_hash)
            if raw is None:
                raise BackendError(f"historical transaction {_hx(tx_hash)} is not available")
            if StoredReceipt.decode(raw).tx_type in L1_TX_TYPES:
                l1 += 1
        return l1, len(block.tx_hashes) - l1

    def _stored_block(self, number: int):
        block = self._storage.block(number)
        if block is None:
            raise BackendError(f"historical block {number} is not available")
        return block

    @staticmethod
    def _l1_fields() -> dict:
        """Era's L1 transaction fields: we keep no L1 transaction hashes or times (yet)."""
        return {
            "commitTxHash": None,
            "committedAt": None,
            "proveTxHash": None,
            "provenAt": None,
            "executeTxHash": None,
            "executedAt": None,
        }

    # -- the methods ---------------------------------------------------------------------------

    def batch_details(self, number: int) -> dict | None:
        """``zks_getL1BatchDetails``: Era's shape, or ``None`` for a batch not sealed."""
        meta = self._meta(number)
        if meta is None:
            return None
        l1 = l2 = 0
        base_fee = 0
        for n in range(meta.first_block_number, meta.last_block_number + 1):
            block = self._stored_block(n)
            a, b = self._counts(block)
            l1, l2 = l1 + a, l2 + b
            base_fee = BlockHeader.decode(block.block_record).base_fee
        info = meta.commit_batch_info
        return {
            "number": number,
            "timestamp": info.first_block_timestamp,
            "l1TxCount": l1,
            "l2TxCount": l2,
            "rootHash": _hx(info.new_state_commitment),
            "status": self._status(number),
            **self._l1_fields(),
            "l1GasPrice": 0,
            "l2FairGasPrice": base_fee,
            "fairPubdataPrice": None,
        }

    def block_details(self, number: int) -> dict | None:
        """``zks_getBlockDetails``: Era's shape, or ``None`` for a block not stored."""
        block = self._storage.block(number)
        if block is None:
            return None
        header = BlockHeader.decode(block.block_record)
        batch = self.batch_of_block(number)
        l1, l2 = self._counts(block)
        return {
            "number": number,
            # Era: a block not in a sealed batch yet names the batch being built.
            "l1BatchNumber": self.latest_batch_number() + 1 if batch is None else batch,
            "timestamp": header.timestamp,
            "l1TxCount": l1,
            "l2TxCount": l2,
            "rootHash": _hx(block.block_hash),
            "status": self._status(batch),
            **self._l1_fields(),
            "l1GasPrice": 0,
            "l2FairGasPrice": header.base_fee,
            "fairPubdataPrice": None,
            "operatorAddress": _hx(header.coinbase),
            "protocolVersion": None,
        }

    def l2_to_l1_log_proof(self, tx_hash: bytes, index: int) -> dict | None:
        """``zks_getL2ToL1LogProof`` (§3.4): ``None`` for an unknown transaction."""
        location = self._storage.tx_location(tx_hash)
        if location is None:
            return None
        batch = self.batch_of_block(location.block_number)
        progress = self._progress
        if batch is None or progress is None or batch > progress.last_committed_batch:
            raise BackendError("transaction has not been included in an L1 batch yet")
        # The reference compares the last executed *block* with the batch number (§14.2).
        if batch > progress.last_executed_batch:
            raise BackendError("L1 batch containing the transaction has not been executed yet")
        first, last = self.block_range(batch)
        logs: list[bytes] = []
        own = None
        for number in range(first, last + 1):
            for h in self._stored_block(number).tx_hashes:
                raw = self._storage.receipt(h)
                if raw is None:
                    raise BackendError(f"historical transaction {_hx(h)} is not available")
                entries = StoredReceipt.decode(raw).l2_to_l1_logs
                if h == tx_hash:
                    own = (len(logs), len(entries))
                logs.extend(log_bytes(e) for e in entries)
        if own is None:
            raise BackendError(f"historical transaction {_hx(tx_hash)} is not available")
        offset, count = own
        if index >= count:
            raise BackendError(
                f"provided L2->L1 log index ({index}) does not exist; "
                f"there are only {count} L2->L1 logs in the transaction"
            )
        log_id = offset + index
        path = proof(logs, log_id)
        return {
            "batch_number": batch,
            "proof": [_hx(w) for w in [proof_metadata(len(path)), *path, bytes(32)]],
            "id": log_id,
            "root": _hx(logs_root_hash(logs)),
        }
