"""The L2->L1 logs mini Merkle tree of a batch (zksync-os-server.md §6.3).

A keccak tree of ``LOGS_TREE_SIZE`` leaves: a log's leaf is ``H_k(88-byte log)``, an unused leaf is
``H_k(0^88)``, a node is ``H_k(left || right)``. L1 stores ``H_k(local_root || 0^32)`` as the
batch's ``l2_to_l1_logs_root_hash``. ``proof`` gives the sibling path ``zks_getL2ToL1LogProof``
returns for one leaf.
"""

from __future__ import annotations

from zkos_tw.hashing import keccak256

#: ``MAX_NUMBER_OF_LOGS``: leaves of the tree, and the most logs one batch may hold.
LOGS_TREE_SIZE = 16_384
LOG_LEAF_SIZE = 88
EMPTY_LEAF_HASH = keccak256(b"\0" * LOG_LEAF_SIZE)
_DEPTH = LOGS_TREE_SIZE.bit_length() - 1


def _empty_subtree_hashes() -> list[bytes]:
    hashes = [EMPTY_LEAF_HASH]
    for _ in range(_DEPTH):
        hashes.append(keccak256(hashes[-1] + hashes[-1]))
    return hashes


#: ``_EMPTY[h]``: root of an all-empty subtree of height ``h``.
_EMPTY = _empty_subtree_hashes()


def encode_log(
    l2_shard_id: int,
    is_service: bool,
    tx_number_in_block: int,
    sender: bytes,
    key: bytes,
    value: bytes,
) -> bytes:
    """The 88 leaf bytes of one L2->L1 log (§6.3)."""
    if len(sender) != 20 or len(key) != 32 or len(value) != 32:
        raise ValueError("sender must be 20 bytes, key and value 32 bytes")
    return (
        bytes([l2_shard_id, int(is_service)])
        + tx_number_in_block.to_bytes(2, "big")
        + sender
        + key
        + value
    )


def _levels(logs: list[bytes]) -> list[list[bytes]]:
    """The non-empty prefix of every level, leaves first; the rest of a level is ``_EMPTY[h]``."""
    if len(logs) > LOGS_TREE_SIZE:
        raise ValueError(f"{len(logs)} logs exceed the tree size {LOGS_TREE_SIZE}")
    level = [keccak256(log) for log in logs]
    levels = [level]
    for height in range(_DEPTH):
        if len(level) % 2:
            level = level + [_EMPTY[height]]
        level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def local_root(logs: list[bytes]) -> bytes:
    """The mini tree's root over the batch's encoded logs, in order."""
    top = _levels(logs)[-1]
    return top[0] if top else _EMPTY[_DEPTH]


def logs_root_hash(logs: list[bytes]) -> bytes:
    """``l2_to_l1_logs_root_hash = H_k(local_root || 0^32)``."""
    return root_from_local(local_root(logs))


def root_from_local(root: bytes) -> bytes:
    """Wrap a mini tree root the way L1 stores it."""
    return keccak256(root + b"\0" * 32)


def proof(logs: list[bytes], index: int) -> list[bytes]:
    """The ``_DEPTH`` sibling hashes from leaf ``index`` up to the local root."""
    if not 0 <= index < len(logs):
        raise IndexError(f"log {index} not in a batch of {len(logs)} logs")
    path = []
    for height, level in enumerate(_levels(logs)[:-1]):
        sibling = index ^ 1
        path.append(level[sibling] if sibling < len(level) else _EMPTY[height])
        index >>= 1
    return path


def root_from_proof(log: bytes, index: int, path: list[bytes]) -> bytes:
    """Recompute the local root from one encoded log, its index and its ``proof`` path."""
    node = keccak256(log)
    for sibling in path:
        node = keccak256(sibling + node) if index & 1 else keccak256(node + sibling)
        index >>= 1
    return node
