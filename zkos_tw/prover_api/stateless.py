"""The worker's proving step: a batch re-executed from its prover input alone (issue #12
item 3; reference server.md §5.4, state.md §8.3).

``prove_batch(data)`` decodes the ``V1`` input and, block by block:

1. checks the witness (every read proof and the rightmost leaf) against the block's pre-block
   root, and that the block continues the previous one (tree root and leaf count as computed,
   the 256-hash window, the previous timestamp);
2. re-executes the block with the compiled EVM over ``WitnessReader`` / ``WitnessPreimages``
   (no database: a read outside the witness is ``MissingWitness``);
3. applies the block's writes to a ``WitnessTree`` for the new root and leaf count, and
   recomputes the block's pubdata.

Then it builds the state commitments before and after the batch (state.md §5.3), the batch
commitment (the ``BatchOutput`` hash of §6.4, from the re-executed receipts and pubdata) and the
public input ``H_k(state_before || state_after || commitment)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from zkos_tw.batcher.commitment import L2_DA_VALIDATOR, priority_operations_hash, state_commitment
from zkos_tw.batcher.info import ZERO32, CommitBatchInfo
from zkos_tw.batcher.logs_tree import logs_root_hash
from zkos_tw.batcher.pubdata import da_commitment, log_bytes
from zkos_tw.execution.l1_transactions import PRIORITY_TX_TYPE, UPGRADE_TX_TYPE
from zkos_tw.hashing import keccak256
from zkos_tw.prover_api import prover_input as pi
from zkos_tw.prover_api.reexecute import block_pubdata_of, execute_block
from zkos_tw.prover_api.witness import WitnessPreimages, WitnessReader
from zkos_tw.prover_api.witness_tree import WitnessTree
from zkos_tw.state.view import FlatState


@dataclass(frozen=True)
class BatchProof:
    """What re-executing one batch from its input established, with its cost."""

    batch_number: int
    state_before: bytes
    state_after: bytes
    commitment: bytes
    public_input: bytes
    blocks: int
    transactions: int
    gas_used: int
    seconds: float


def _continues(block: pi.BlockInput, previous, root: bytes, count: int) -> None:
    """``block`` follows ``previous`` (a ``SealedBlock``) whose tree is ``(root, count)``."""
    number = block.context.number
    if number != previous.number + 1:
        raise pi.ProverInputError(f"block {number} follows block {previous.number}")
    if (block.tree_root, block.leaf_count) != (root, count):
        raise pi.ProverInputError(f"block {number}: pre-block tree is not the previous block's")
    if block.context.block_hashes != previous.context.next_hashes(previous.hash):
        raise pi.ProverInputError(f"block {number}: block hashes do not continue the batch")
    if block.previous_block_timestamp != previous.context.timestamp:
        raise pi.ProverInputError(f"block {number}: previous timestamp is not the previous block's")


def prove_batch(data: bytes) -> BatchProof:
    """Re-execute the batch in ``data``; ``ProverInputError`` (``MissingWitness`` included) or
    ``ReplayDivergence`` when the input does not prove a batch."""
    started = time.perf_counter()
    batch = pi.decode(data)
    if not batch.blocks:
        raise pi.ProverInputError(f"batch {batch.batch_number} has no blocks")
    first = batch.blocks[0]
    state_before = state_commitment(
        first.tree_root,
        first.leaf_count,
        first.context.number - 1,
        first.context.block_hashes,
        first.previous_block_timestamp,
    )
    previous = root = count = None
    priority, upgrades, logs, pubdata = [], [], [], []
    transactions = gas_used = 0
    for block_input in batch.blocks:
        if previous is not None:
            _continues(block_input, previous, root, count)
        reader = WitnessReader(block_input)
        preimages = WitnessPreimages(block_input)
        block = execute_block(
            block_input.context, block_input.transactions, FlatState(reader, preimages)
        )
        root, count = WitnessTree(block_input).apply(block.state_output.tree_writes())
        pubdata.append(block_pubdata_of(block, reader.read, preimages.get))
        for tx, receipt in zip(block.transactions, block.receipts, strict=True):
            if tx.tx.tx_type == PRIORITY_TX_TYPE:
                priority.append(tx.tx_hash)
            elif tx.tx.tx_type == UPGRADE_TX_TYPE:
                upgrades.append(tx.tx_hash)
            logs.extend(log_bytes(entry) for entry in receipt.l2_to_l1_logs)
        transactions += len(block.transactions)
        gas_used += block.header.gas_used
        previous = block
    if len(upgrades) > 1:
        raise pi.ProverInputError(f"batch {batch.batch_number} holds {len(upgrades)} upgrades")
    state_after = state_commitment(
        root,
        count,
        previous.number,
        previous.context.next_hashes(previous.hash),
        previous.context.timestamp,
    )
    info = CommitBatchInfo(
        batch_number=batch.batch_number,
        new_state_commitment=state_after,
        number_of_layer1_txs=len(priority),
        priority_operations_hash=priority_operations_hash(priority),
        dependency_roots_rolling_hash=ZERO32,
        l2_to_l1_logs_root_hash=logs_root_hash(logs),
        l2_da_validator=L2_DA_VALIDATOR,
        da_commitment=da_commitment(b"".join(pubdata)),
        first_block_timestamp=first.context.timestamp,
        last_block_timestamp=previous.context.timestamp,
        chain_id=first.context.chain_id,
        chain_address=bytes(20),  # not part of the commitment
        operator_da_input=b"",  # not part of the commitment
        upgrade_tx_hash=upgrades[0] if upgrades else None,
    )
    commitment = info.commitment()
    return BatchProof(
        batch_number=batch.batch_number,
        state_before=state_before,
        state_after=state_after,
        commitment=commitment,
        public_input=keccak256(state_before + state_after + commitment),
        blocks=len(batch.blocks),
        transactions=transactions,
        gas_used=gas_used,
        seconds=time.perf_counter() - started,
    )
