"""A batch's ``CommitBatchInfo`` built from stored data only (zksync-os-server.md §6.3).

``build_commit_batch_info`` reads, for blocks ``first_block..last_block``: the WAL records (block
context: timestamps and the 256-block hash window), the receipts (transaction types and L2->L1
logs, in order), the blocks' pubdata, and the state tree at ``last_block``. Nothing is taken from
memory, so a restarted node builds the same info for the same blocks.

* priority operations: ``acc = H_k("")``, ``acc = H_k(acc || l1_tx_hash)`` over the 0x7f txs;
* ``upgrade_tx_hash``: the batch's 0x7e tx, at most one;
* ``l2_to_l1_logs_root_hash``: the logs tree over every receipt's L2->L1 logs (``logs_tree``);
* DA fields: from the concatenated block pubdata (``pubdata.da_commitment`` / ``operator_da_input``);
* ``new_state_commitment``: ``state_commitment`` after the last block (state.md §5.3).

``summaries(n)`` (``BlockMemory.summary``, optional) gives the receipts' part and the block
context of a block just stored without reading them back: the same values, taken from the
``SealedBlock`` the stored records are the encoding of. Blocks it does not give are read.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkos_tw.batcher.info import EMPTY_KECCAK, ZERO32, CommitBatchInfo
from zkos_tw.batcher.logs_tree import logs_root_hash
from zkos_tw.batcher.pubdata import da_commitment, log_bytes, operator_da_input
from zkos_tw.execution.l1_transactions import PRIORITY_TX_TYPE, UPGRADE_TX_TYPE
from zkos_tw.hashing import keccak256
from zkos_tw.merkle import codec as tree_codec
from zkos_tw.merkle.commitment import state_commitment as _state_commitment
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.sequencer.wal import ReplayRecord

#: ``l2_da_validator``: zero for calldata DA.
L2_DA_VALIDATOR = bytes(20)


class BatchDataMissing(LookupError):
    """A block, receipt, WAL record, pubdata or tree version the batch needs is not stored."""


def state_commitment(
    root: bytes,
    leaf_count: int,
    block_number: int,
    block_hashes_256: Sequence[bytes],
    last_timestamp: int,
) -> bytes:
    """``blake2s(root || u64 leaf_count || u64 block_number || H256 || u64 timestamp)`` where
    ``block_hashes_256`` are the 256 hashes ending with ``block_number``'s own (§5.3)."""
    if len(block_hashes_256) != 256:
        raise ValueError(
            f"need the 256 block hashes ending with the block, got {len(block_hashes_256)}"
        )
    return _state_commitment(root, leaf_count, block_number, block_hashes_256, last_timestamp)


def priority_operations_hash(l1_tx_hashes: Sequence[bytes]) -> bytes:
    """The rolling hash of the batch's priority (0x7f) transaction hashes, from ``H_k("")``."""
    acc = EMPTY_KECCAK
    for tx_hash in l1_tx_hashes:
        acc = keccak256(acc + tx_hash)
    return acc


def _record(storage, number: int) -> ReplayRecord:
    raw = storage.wal_record(number)
    if raw is None:
        raise BatchDataMissing(f"block {number} has no WAL record")
    return ReplayRecord.decode(raw)


def _context(storage, number: int):
    return _record(storage, number).context


def _receipts(storage, first_block: int, last_block: int):
    """``(block number, tx hash, StoredReceipt)`` of every transaction of the blocks, in order;
    a block or receipt that is not stored raises ``BatchDataMissing``."""
    for number in range(first_block, last_block + 1):
        block = storage.block(number)
        if block is None:
            raise BatchDataMissing(f"block {number} is not stored")
        for tx_hash in block.tx_hashes:
            raw = storage.receipt(tx_hash)
            if raw is None:
                raise BatchDataMissing(f"receipt of 0x{tx_hash.hex()} is not stored")
            yield number, tx_hash, StoredReceipt.decode(raw)


def priority_tx_hashes(storage, first_block: int, last_block: int) -> list[bytes]:
    """The L1 priority transactions (type 0x7f) of blocks ``first_block..last_block``, in order:
    the batch's leaves of the priority tree (§7.4)."""
    return [
        tx_hash
        for _, tx_hash, receipt in _receipts(storage, first_block, last_block)
        if receipt.tx_type == PRIORITY_TX_TYPE
    ]


def build_commit_batch_info(
    storage,
    tree,
    *,
    batch_number: int,
    first_block: int,
    last_block: int,
    chain_id: int,
    chain_address: bytes,
    pubdata_mode: str = "Rollup",
    summaries=None,
) -> CommitBatchInfo:
    """The ``CommitBatchInfo`` of batch ``batch_number`` = blocks ``first_block..last_block``.

    ``storage`` is an ``IBlockStorage``; ``tree`` the state ``MerkleTree`` (it must hold version
    ``last_block``). ``pubdata_mode`` is ``"Rollup"`` or ``"Validium"`` (``getPubdataPricingMode``).
    """
    if first_block > last_block:
        raise ValueError(f"batch {batch_number}: first block {first_block} > last {last_block}")
    if len(chain_address) != 20:
        raise ValueError("chain_address is 20 bytes")
    priority: list[bytes] = []
    upgrades: list[bytes] = []
    logs: list[bytes] = []
    pubdata: list[bytes] = []
    known = {}
    for number in range(first_block, last_block + 1):
        summary = summaries(number) if summaries is not None else None
        if summary is not None:
            known[number] = summary
            priority.extend(summary.priority)
            upgrades.extend(summary.upgrades)
            logs.extend(summary.logs)
            continue
        for _, tx_hash, receipt in _receipts(storage, number, number):
            if receipt.tx_type == PRIORITY_TX_TYPE:
                priority.append(tx_hash)
            elif receipt.tx_type == UPGRADE_TX_TYPE:
                upgrades.append(tx_hash)
            logs.extend(log_bytes(entry) for entry in receipt.l2_to_l1_logs)
    for number in range(first_block, last_block + 1):
        block_pubdata = storage.block_pubdata(number)
        if block_pubdata is None:
            raise BatchDataMissing(f"block {number} was stored without pubdata")
        pubdata.append(block_pubdata)
    if len(upgrades) > 1:
        raise ValueError(f"batch {batch_number} holds {len(upgrades)} upgrade transactions")
    first = known[first_block].context if first_block in known else _context(storage, first_block)
    if last_block in known:
        last, last_hash = known[last_block].context, known[last_block].block_hash
    else:
        last, last_hash = _context(storage, last_block), storage.block(last_block).block_hash
    if tree.latest_version is None or tree.latest_version < last_block:
        raise BatchDataMissing(f"the state tree has no version {last_block}")
    commitment = state_commitment(
        tree.root(last_block),
        tree.leaf_count(last_block),
        last_block,
        last.next_hashes(last_hash),
        last.timestamp,
    )
    all_pubdata = b"".join(pubdata)
    return CommitBatchInfo(
        batch_number=batch_number,
        new_state_commitment=commitment,
        number_of_layer1_txs=len(priority),
        priority_operations_hash=priority_operations_hash(priority),
        dependency_roots_rolling_hash=ZERO32,
        l2_to_l1_logs_root_hash=logs_root_hash(logs),
        l2_da_validator=L2_DA_VALIDATOR,
        da_commitment=da_commitment(all_pubdata),
        first_block_timestamp=first.timestamp,
        last_block_timestamp=last.timestamp,
        chain_id=chain_id,
        chain_address=chain_address,
        operator_da_input=operator_da_input(all_pubdata, pubdata_mode),
        upgrade_tx_hash=upgrades[0] if upgrades else None,
    )


class StoredTreeVersions:
    """Root and leaf count of committed tree versions, read from the tree's store only.

    The in-memory ``MerkleTree`` is updated by the sequencer's worker thread while the next
    block is applied; the batcher (on the reactor) must not read its levels mid-update, so it
    reads each version's record, which storage wrote in the block's own transaction."""

    def __init__(self, tree_store):
        self._store = tree_store

    def _info(self, version: int) -> tuple[bytes, int] | None:
        record = self._store.get(tree_codec.version_key(version))
        return None if record is None else tree_codec.decode_version(record)

    @property
    def latest_version(self) -> int | None:
        head = self._store.get(tree_codec.HEAD_KEY)
        return None if head is None else tree_codec.decode_head(head)

    def root(self, version: int) -> bytes:
        info = self._info(version)
        if info is None:
            raise BatchDataMissing(f"the state tree has no version {version}")
        return info[0]

    def leaf_count(self, version: int) -> int:
        info = self._info(version)
        if info is None:
            raise BatchDataMissing(f"the state tree has no version {version}")
        return info[1]
