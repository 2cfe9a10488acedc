"""Batches for the sender tests, built as ``tests/contracts/model.py`` builds them, as the
node's ``BatchEnvelope``\\ s (``zkos_tw.batcher.info``)."""

from __future__ import annotations

from tests.contracts import model
from zkos_tw.batcher.info import BatchEnvelope, BatchMetadata, CommitBatchInfo, StoredBatchInfo

ZERO20 = bytes(20)


def stored_from_model(batch: model.StoredBatch) -> StoredBatchInfo:
    """The node's ``StoredBatchInfo`` of a model batch."""
    return StoredBatchInfo(
        batch.number,
        batch.state_commitment,
        batch.l1_tx_count,
        batch.priority_ops_hash,
        batch.dependency_roots_hash,
        batch.l2_logs_root,
        batch.commitment,
    )


def commit_info_from_model(batch: model.CommitBatch, chain_address: bytes) -> CommitBatchInfo:
    """The node's ``CommitBatchInfo`` of a model batch (same fields, same hashes)."""
    da_commitment, da_input = batch.da()
    upgrade = batch.upgrade_tx_hash if batch.upgrade_tx_hash != bytes(32) else None
    return CommitBatchInfo(
        batch_number=batch.number,
        new_state_commitment=batch.state_commitment,
        number_of_layer1_txs=batch.l1_tx_count,
        priority_operations_hash=batch.priority_ops_hash,
        dependency_roots_rolling_hash=bytes(32),
        l2_to_l1_logs_root_hash=batch.l2_logs_root,
        l2_da_validator=ZERO20,
        da_commitment=da_commitment,
        first_block_timestamp=batch.first_ts,
        last_block_timestamp=batch.last_ts,
        chain_id=batch.chain_id,
        chain_address=chain_address,
        operator_da_input=da_input,
        upgrade_tx_hash=upgrade,
    )


def envelope(
    previous: model.StoredBatch, batch: model.CommitBatch, chain_address: bytes = ZERO20
) -> BatchEnvelope:
    """A ``BatchEnvelope`` of ``batch`` committed after ``previous``."""
    meta = BatchMetadata(
        previous_stored_batch_info=stored_from_model(previous),
        commit_batch_info=commit_info_from_model(batch, chain_address),
        first_block_number=10 * batch.number - 9,
        last_block_number=10 * batch.number,
        tx_count=3,
    )
    return BatchEnvelope(meta)


def model_batches(count: int, l1_hashes=(), chain_id: int = 270, genesis_root=b"\x11" * 32):
    """``(genesis, [model.CommitBatch])``: ``count`` batches, the first carrying ``l1_hashes``."""
    genesis = model.genesis_batch(genesis_root)
    batches = []
    for n in range(1, count + 1):
        batches.append(
            model.CommitBatch(
                number=n,
                state_commitment=bytes([n]) * 32,
                l1_tx_hashes=tuple(l1_hashes) if n == 1 else (),
                chain_id=chain_id,
                first_ts=1_800_000_000 + 10 * n,
                last_ts=1_800_000_005 + 10 * n,
                pubdata=b"pubdata of batch %d" % n,
            )
        )
    return genesis, batches


def envelopes(count: int, l1_hashes=(), chain_address: bytes = ZERO20, **options):
    """``count`` consecutive envelopes after genesis (each after the one before)."""
    genesis, batches = model_batches(count, l1_hashes, **options)
    out, previous = [], genesis
    for batch in batches:
        out.append(envelope(previous, batch, chain_address))
        previous = batch.stored()
    return out
