"""The priority tree of the L1 priority transactions (reference §7.4): range proofs for
``executeBatchesSharedBridge``, trimmed as batches are executed, persisted as a small snapshot."""

from zkos_tw.priority_tree.tree import (
    EMPTY_LEAF,
    EMPTY_RANGE,
    PriorityTree,
    PriorityTreeError,
    PriorityTreeSnapshot,
    RangeProof,
)

__all__ = [
    "EMPTY_LEAF",
    "EMPTY_RANGE",
    "PriorityTree",
    "PriorityTreeError",
    "PriorityTreeSnapshot",
    "RangeProof",
]
