"""``BlockSink``: persists a sealed block in one storage write, then tells the listeners.

The write carries the WAL record, the block and receipt records, the log index, the state diff,
the new preimages, the tree patch (the tree version of the block), the block's pubdata
(``zkos_tw.batcher.pubdata``, computed against the state before the block) and the address
index of its transactions (``address_index``; docs/tracing.md) — all or nothing
(ARCHITECTURE §2: a block is visible through RPC only after its transaction committed).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

import zkos_tw
from zkos_tw.batcher.pubdata import block_pubdata
from zkos_tw.execution.l1_transactions import L1_TX_TYPES
from zkos_tw.metrics_chain import StorageMetrics
from zkos_tw.sequencer.builder import SealedBlock
from zkos_tw.sequencer.wal import ReplayRecord
from zkos_tw.storage import (
    ROLE_CALLED,
    ROLE_CREATED,
    ROLE_LOG,
    ROLE_SENDER,
    ROLE_TO,
    AddressIndexWrite,
    BlockWrite,
    LogWrite,
    TxWrite,
)
from zkos_tw.storage.records import unchecked_maker

_NO_ACCOUNT_NONCE = L1_TX_TYPES
# The storage records built without their per-item checks (see ``block_write``).
_tx_write = unchecked_maker(TxWrite)
_log_write = unchecked_maker(LogWrite)
_index_write = unchecked_maker(AddressIndexWrite)
_block_write = unchecked_maker(BlockWrite)


def address_index(block: SealedBlock) -> tuple[AddressIndexWrite, ...]:
    """The address index entries of ``block``: per transaction, every address that is its
    sender, recipient, created contract, log emitter, or an account its successful frames ran
    in or paid (``IncludedTransaction.touched``); the sender's nonce; top-level creations."""
    entries = []
    append = entries.append
    for index, (tx, receipt) in enumerate(zip(block.transactions, block.receipts, strict=True)):
        sender, to = receipt.sender, receipt.to
        created = receipt.contract_address
        touched = tx.touched
        if created is None and not receipt.logs and to is not None and to != sender:
            # A plain call or transfer (the common case): sender and recipient, then whatever
            # else the frames touched.
            roles = {sender: ROLE_SENDER, to: ROLE_TO}
            for address in touched:
                roles[address] = roles.get(address, 0) | ROLE_CALLED
        else:
            roles = {sender: ROLE_SENDER}
            if to is not None:
                roles[to] = roles.get(to, 0) | ROLE_TO
            if created is not None:
                roles[created] = roles.get(created, 0) | ROLE_CREATED
            for log in receipt.logs:
                roles[log.address] = roles.get(log.address, 0) | ROLE_LOG
            for address in touched:
                roles[address] = roles.get(address, 0) | ROLE_CALLED
        nonce = None
        if tx.tx.tx_type not in _NO_ACCOUNT_NONCE:
            nonce = (tx.sender, tx.tx.nonce)
        append(
            _index_write(
                index,
                tx.tx_hash,
                tuple(sorted(roles.items())),
                nonce,
                ((created, tx.sender),) if created is not None else (),
            )
        )
    return tuple(entries)


def block_write(
    block: SealedBlock,
    tree_patch,
    previous_timestamp: int,
    starting_l1_priority_id: int = 0,
    extra_preimages=(),
    pubdata: bytes = b"",
) -> BlockWrite:
    """The storage write of ``block`` (given the tree patch of its state writes and its pubdata)."""
    wal = ReplayRecord(
        context=block.context,
        starting_l1_priority_id=starting_l1_priority_id,
        transactions=tuple(t.raw for t in block.transactions),
        previous_block_timestamp=previous_timestamp,
        node_version=zkos_tw.__version__,
        block_output_hash=block.output_hash(),
    )
    logs = []
    log_index = 0
    for tx_index, receipt in enumerate(block.receipts):
        for log in receipt.logs:
            logs.append(_log_write(tx_index, log_index, log.address, tuple(log.topics), log.data))
            log_index += 1
    # Built without the records' per-item checks (``unchecked_maker``): every field comes from
    # the sealed block with the types the records name; ``write_block`` still checks uniqueness.
    return _block_write(
        block.number,
        block.hash,
        wal.encode(),
        block.header.encode(),
        tuple(
            _tx_write(t.tx_hash, t.raw, r.encode())
            for t, r in zip(block.transactions, block.receipts, strict=True)
        ),
        tuple(logs),
        tuple(block.state_output.tree_writes()),
        tuple(block.state_output.preimages) + tuple(extra_preimages),
        tuple(tree_patch.records),
        pubdata,
        address_index(block),
    )


_ZERO32 = bytes(32)


def pubdata_of(block: SealedBlock, storage, extra_preimages=()) -> bytes:
    """``block``'s pubdata: initial values from ``storage`` at the block before it (all zero when
    storage holds no block yet), preimages from the block's own, then from storage.

    When the block's state output carries the written keys' values before the block (a
    ``FlatState`` knows them: it read them to execute the block), those are used instead of
    reading storage again; tests check both ways give the same bytes.
    """
    output = block.state_output
    new = dict(output.preimages)
    new.update(extra_preimages)
    writes = output.storage_writes
    if len(output.initial_values) == len(writes):
        known = {w.key: before for w, before in zip(writes, output.initial_values, strict=True)}
        new.update(output.initial_preimages)
        initial = known.__getitem__
    else:
        initial = _storage_initial(block, storage)

    def preimage(digest: bytes) -> bytes:
        found = new.get(digest)
        if found is None:
            found = storage.preimage(digest)
        if found is None:
            raise KeyError(f"preimage 0x{digest.hex()} of block {block.number} is not stored")
        return found

    logs = [entry for receipt in block.receipts for entry in receipt.l2_to_l1_logs]
    # Account records by hash are content-addressed: the view's decoded ones are always right.
    records = dict(getattr(output, "records", ()))
    return block_pubdata(block.hash, writes, initial, preimage, logs, records=records)


def _storage_initial(block: SealedBlock, storage):
    """``initial(key)`` reading storage at the block before ``block``."""
    reader = None
    if storage.last_block() is not None:
        reader = storage.state_at(block.number - 1)

    def initial(key: bytes) -> bytes:
        value = reader.read(key) if reader is not None else None
        return _ZERO32 if value is None else value

    return initial


class BlockSink:
    """Writes sealed blocks to storage and the tree, in order, and notifies listeners."""

    def __init__(self, storage, tree, metrics: StorageMetrics | None = None):
        self._storage = storage
        self._tree = tree
        self.metrics = metrics or StorageMetrics(CollectorRegistry())
        self._listeners: list[Callable[[SealedBlock], object]] = []

    def add_listener(self, listener: Callable[[SealedBlock], object]) -> Callable[[], None]:
        """Call ``listener(block)`` after each block is stored; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def persist(
        self,
        block: SealedBlock,
        previous_timestamp: int,
        starting_l1_priority_id: int = 0,
        extra_preimages=(),
    ) -> None:
        """Store ``block`` in one write transaction (tree version included); ``extra_preimages``
        are stored with it (the genesis upgrade's factory deps in block 1)."""
        started = time.perf_counter()
        writes = block.state_output.tree_writes()
        patch = self._tree.apply(block.number, writes)
        self.metrics.tree_applied(block.number, len(writes), time.perf_counter() - started)
        pubdata = pubdata_of(block, self._storage, extra_preimages)
        write = block_write(
            block, patch, previous_timestamp, starting_l1_priority_id, extra_preimages, pubdata
        )
        written = time.perf_counter()
        self._storage.write_block(write)
        self.metrics.block_persisted(write, time.perf_counter() - written)

    def notify(self, block: SealedBlock) -> None:
        """Tell the listeners (RPC subscriptions, mempool, health) about a stored block."""
        for listener in list(self._listeners):
            listener(block)
