"""Batch envelopes for the proof-storage tests; ``golden_envelope()`` is the one in
``golden/fri_batch_envelope_1.json``."""

from __future__ import annotations

from dataclasses import replace

from zkos_tw.batcher.info import (
    GENESIS_COMMITMENT,
    ZERO32,
    BatchEnvelope,
    BatchMetadata,
    CommitBatchInfo,
    Proof,
    StoredBatchInfo,
)


def golden_envelope() -> BatchEnvelope:
    """Batch 1, blocks 1..=4, with a real 4-byte FRI proof."""
    previous = StoredBatchInfo(
        0, b"\x11" * 32, 0, b"\xaa" * 32, ZERO32, ZERO32, GENESIS_COMMITMENT, 0
    )
    commit = CommitBatchInfo(
        batch_number=1,
        new_state_commitment=b"\x22" * 32,
        number_of_layer1_txs=2,
        priority_operations_hash=b"\xbb" * 32,
        dependency_roots_rolling_hash=ZERO32,
        l2_to_l1_logs_root_hash=b"\xcc" * 32,
        l2_da_validator=b"\0" * 20,
        da_commitment=b"\xdd" * 32,
        first_block_timestamp=1700000000,
        last_block_timestamp=1700000005,
        chain_id=270,
        chain_address=b"\x12" * 20,
        operator_da_input=b"\x01\x02\x03",
    )
    meta = BatchMetadata(previous, commit, 1, 4, 7, 3)
    return BatchEnvelope(meta, Proof(False, bytes.fromhex("deadbeef"), 3))


def envelope(number: int, first_block: int, last_block: int, *, fake: bool = True):
    """Batch ``number`` covering ``first_block..=last_block``, with a fake (or real) proof."""
    base = golden_envelope()
    commit = replace(base.batch.commit_batch_info, batch_number=number)
    meta = replace(
        base.batch,
        previous_stored_batch_info=replace(
            base.batch.previous_stored_batch_info, batch_number=number - 1
        ),
        commit_batch_info=commit,
        first_block_number=first_block,
        last_block_number=last_block,
    )
    proof = Proof.fake_proof() if fake else Proof(False, bytes([number]) * 3, 3)
    return BatchEnvelope(meta, proof)
