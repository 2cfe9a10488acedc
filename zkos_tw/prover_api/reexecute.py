"""Re-executing one recorded block over any pre-block state (issue #12 items 2 and 3).

The node runs it over the recording wrappers to learn a block's read set; the worker runs it
over the witness readers alone. Both use the sequencer's own ``BlockBuilder`` and replay rules
(``zkos_tw.sequencer.commands.ReplaySource``): every transaction is included, in order, and a
refused or non-fitting one is a ``ReplayDivergence``. ``block_pubdata_of`` is the block's
pubdata (``zkos_tw.batcher.pubdata``) with the pre-block values and preimages given as
functions, so the worker computes it from the witness and the node from storage.
"""

from __future__ import annotations

from zkos_tw.batcher.pubdata import block_pubdata
from zkos_tw.execution.exceptions import InvalidTransaction
from zkos_tw.execution.l1_transactions import L1_TX_TYPES
from zkos_tw.sequencer.blocks import BlockContext
from zkos_tw.sequencer.builder import BlockBuilder, BlockFull, SealedBlock
from zkos_tw.sequencer.commands import ReplayDivergence, ReplaySource
from zkos_tw.sequencer.wal import ReplayRecord

ZERO32 = bytes(32)


def execute_block(context: BlockContext, transactions, state) -> SealedBlock:
    """Execute ``transactions`` (EIP-2718 bytes) as block ``context`` over ``state`` (an
    ``IExecutionState`` with ``finish_block``); the sealed block, or ``ReplayDivergence``.

    ``MissingWitness`` (a read outside the witness) propagates unchanged."""
    record = ReplayRecord(context, 0, tuple(transactions), 0, "", b"")
    source = ReplaySource(record)
    builder = BlockBuilder(context, state, max_transactions=max(1, len(record.transactions)))
    for candidate in source.next_batch(len(record.transactions)):
        try:
            if candidate.tx.tx_type in L1_TX_TYPES:
                builder.add_l1(candidate.tx)
            else:
                builder.add(candidate.raw, candidate.tx, candidate.sender)
        except InvalidTransaction as e:
            source.rejected(candidate, str(e))
        except BlockFull:
            source.did_not_fit(candidate)
    return builder.seal("replay")


def block_pubdata_of(block: SealedBlock, initial, preimage) -> bytes:
    """``block``'s pubdata; ``initial(key)`` is the pre-block value (None: absent) and
    ``preimage(hash)`` a pre-block preimage (the block's own new preimages are looked up first)."""
    new = dict(block.state_output.preimages)

    def before(key: bytes) -> bytes:
        value = initial(key)
        return ZERO32 if value is None else value

    def find(digest: bytes) -> bytes:
        found = new.get(digest)
        if found is None:
            found = preimage(digest)
        if found is None:
            raise ReplayDivergence(
                f"block {block.number}: preimage 0x{digest.hex()} is not available"
            )
        return found

    logs = [entry for receipt in block.receipts for entry in receipt.l2_to_l1_logs]
    return block_pubdata(block.hash, block.state_output.storage_writes, before, find, logs)
