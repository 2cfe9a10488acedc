"""Block tag resolution (reference §3.2) and block/header shapes derived from block objects.

``latest`` and ``pending`` -> the newest block; ``safe`` -> the last block committed on L1,
``finalized`` -> the last block executed on L1 (the backend says which; both are the newest
block until L1 senders exist); ``earliest`` -> 0; a number as is (not checked for existence);
a hash -> looked up (``None`` when unknown).
"""

from __future__ import annotations

from zkos_tw.rpc.codec import BlockId
from zkos_tw.rpc.methods import resolve


async def block_number(backend, block: BlockId | None) -> int | None:
    """The number ``block`` names (``None`` for an unknown hash); ``None`` block = latest."""
    if block is None:
        block = BlockId.latest()
    if block.number is not None:
        return block.number
    if block.hash is not None:
        return await resolve(backend.block_number_by_hash(block.hash))
    tag = block.tag
    if tag in ("latest", "pending"):
        return await resolve(backend.latest_block_number())
    if tag == "safe":
        return await resolve(backend.safe_block_number())
    if tag == "finalized":
        return await resolve(backend.finalized_block_number())
    return 0  # earliest


def header_of(block: dict) -> dict:
    """The RPC header of a block object: the block without its body (transactions, uncles,
    withdrawals)."""
    return {k: v for k, v in block.items() if k not in ("transactions", "uncles", "withdrawals")}
