"""The 88-byte chain state commitment (``batchHash`` on L1; ``genesis_root`` for block 0).

``C = blake2s(root || u64be(leaf_count) || u64be(block_number) || H256 || u64be(timestamp))``
where ``H256 = blake2s(hash(n - 255) || ... || hash(n))`` over the 256 block hashes ending with
the current block, zeros before genesis (reference ``zksync-os-state.md`` §5.3).
"""

from __future__ import annotations

from collections.abc import Sequence

from zkos_tw.hashing import blake2s256


def last_256_hash(block_hashes: Sequence[bytes]) -> bytes:
    """``blake2s`` of the last 256 block hashes, oldest first, left-padded with zero hashes.

    ``block_hashes`` ends with the current block's hash; only its last 256 entries count.
    """
    recent = list(block_hashes)[-256:]
    if any(len(h) != 32 for h in recent):
        raise ValueError("block hashes are 32 bytes")
    return blake2s256(bytes(32) * (256 - len(recent)) + b"".join(recent))


def state_commitment(
    root: bytes, leaf_count: int, block_number: int, block_hashes: Sequence[bytes], timestamp: int
) -> bytes:
    """The chain state commitment after block ``block_number`` (see the module docstring)."""
    if len(root) != 32:
        raise ValueError("the tree root is 32 bytes")
    preimage = (
        root
        + leaf_count.to_bytes(8, "big")
        + block_number.to_bytes(8, "big")
        + last_256_hash(block_hashes)
        + timestamp.to_bytes(8, "big")
    )
    assert len(preimage) == 88
    return blake2s256(preimage)
