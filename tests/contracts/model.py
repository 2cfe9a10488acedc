"""A Python model of what the node sends to our L1 contracts, written from the reference.

Independent of the Solidity: StoredBatchInfo and its hash (§6.4), the CommitBatchInfoZKsyncOS of a
batch with its commitment, rollup DA input (§6.3, state.md §5.5), the priority-operations rolling
hash (state.md §5.8), the SNARK public input and fake proof (§7.2), the priority tree and its range
proofs (§7.4), and the calldata payloads of commit / prove / execute (§7.2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from eth_abi import encode

from zkos_tw.hashing import keccak256

EMPTY_KECCAK = keccak256(b"")
STORED_BATCH_INFO = "(uint64,bytes32,uint64,uint256,bytes32,bytes32,bytes32,uint256,bytes32)"
COMMIT_BATCH_INFO = (
    "(uint64,bytes32,uint256,bytes32,bytes32,bytes32,address,bytes32,uint64,uint64,uint256,bytes)"
)
PRIORITY_OPS_BATCH_INFO = "(bytes32[],bytes32[],bytes32[])"
INTEROP_ROOT = "(uint256,uint256,bytes32[])"
#: l2LogsTreeRoot of a batch without L2->L1 logs (reference §6.3).
EMPTY_LOGS_ROOT = bytes.fromhex("692f35c99f9c698852289ffecf07f6dd45770904521149d79aa85aae598fa375")


@dataclass(frozen=True)
class StoredBatch:
    """``IExecutor.StoredBatchInfo`` (ZKsync OS meaning)."""

    number: int
    state_commitment: bytes
    l1_tx_count: int
    priority_ops_hash: bytes
    l2_logs_root: bytes
    commitment: bytes
    dependency_roots_hash: bytes = b"\0" * 32

    def as_tuple(self) -> tuple:
        return (
            self.number,
            self.state_commitment,
            0,
            self.l1_tx_count,
            self.priority_ops_hash,
            self.dependency_roots_hash,
            self.l2_logs_root,
            0,
            self.commitment,
        )

    def hash(self) -> bytes:
        return keccak256(encode([STORED_BATCH_INFO], [self.as_tuple()]))


def genesis_batch(genesis_root: bytes) -> StoredBatch:
    return StoredBatch(0, genesis_root, 0, EMPTY_KECCAK, b"\0" * 32, (1).to_bytes(32, "big"))


def rolling_hash(hashes: list[bytes]) -> bytes:
    acc = EMPTY_KECCAK
    for h in hashes:
        acc = keccak256(acc + h)
    return acc


def operator_da_input(pubdata: bytes) -> tuple[bytes, bytes]:
    """``(da_commitment, operator_da_input)`` for rollup calldata DA."""
    header = b"\0" * 32 + keccak256(pubdata) + b"\x01" + b"\0" * 32
    return keccak256(header), header + b"\x00" + pubdata + b"\0" * 32


@dataclass(frozen=True)
class CommitBatch:
    """``CommitBatchInfoZKsyncOS`` plus the upgrade tx hash the batch carries (if any)."""

    number: int
    state_commitment: bytes
    l1_tx_hashes: tuple[bytes, ...]
    chain_id: int
    first_ts: int
    last_ts: int
    pubdata: bytes = b"pubdata"
    l2_logs_root: bytes = EMPTY_LOGS_ROOT
    upgrade_tx_hash: bytes = b"\0" * 32
    # Overrides, for building wrong batches in rejection tests.
    priority_ops_hash_override: bytes | None = None
    l1_tx_count_override: int | None = None
    da_input_override: bytes | None = None

    @property
    def l1_tx_count(self) -> int:
        if self.l1_tx_count_override is not None:
            return self.l1_tx_count_override
        return len(self.l1_tx_hashes)

    @property
    def priority_ops_hash(self) -> bytes:
        if self.priority_ops_hash_override is not None:
            return self.priority_ops_hash_override
        return rolling_hash(list(self.l1_tx_hashes))

    def da(self) -> tuple[bytes, bytes]:
        commitment, data = operator_da_input(self.pubdata)
        return commitment, self.da_input_override if self.da_input_override is not None else data

    def as_tuple(self) -> tuple:
        da_commitment, da_input = self.da()
        return (
            self.number,
            self.state_commitment,
            self.l1_tx_count,
            self.priority_ops_hash,
            b"\0" * 32,
            self.l2_logs_root,
            "0x" + "00" * 20,
            da_commitment,
            self.first_ts,
            self.last_ts,
            self.chain_id,
            da_input,
        )

    def commitment(self) -> bytes:
        """The BatchOutput hash (reference §6.4), 260 packed bytes."""
        da_commitment, _ = self.da()
        return keccak256(
            self.chain_id.to_bytes(32, "big")
            + self.first_ts.to_bytes(8, "big")
            + self.last_ts.to_bytes(8, "big")
            + b"\0" * 20
            + da_commitment
            + self.l1_tx_count.to_bytes(32, "big")
            + self.priority_ops_hash
            + self.l2_logs_root
            + self.upgrade_tx_hash
            + b"\0" * 32
        )

    def stored(self) -> StoredBatch:
        return StoredBatch(
            self.number,
            self.state_commitment,
            self.l1_tx_count,
            self.priority_ops_hash,
            self.l2_logs_root,
            self.commitment(),
        )

    def with_(self, **changes) -> CommitBatch:
        return replace(self, **changes)


def commit_data(previous: StoredBatch, batches: list[CommitBatch]) -> bytes:
    return b"\x02" + encode(
        [STORED_BATCH_INFO, COMMIT_BATCH_INFO + "[]"],
        [previous.as_tuple(), [b.as_tuple() for b in batches]],
    )


def public_input(previous: StoredBatch, batches: list[StoredBatch]) -> int:
    """The SNARK public input over ``batches`` after ``previous`` (reference §7.2)."""
    acc = None
    prev_state = previous.state_commitment
    for batch in batches:
        pi = int.from_bytes(
            keccak256(prev_state + batch.state_commitment + batch.commitment), "big"
        )
        pi >>= 32
        if acc is None:
            acc = pi
        else:
            acc = int.from_bytes(keccak256(acc.to_bytes(32, "big") + pi.to_bytes(32, "big")), "big")
            acc >>= 32
        prev_state = batch.state_commitment
    return acc


def fake_proof(value: int) -> list[int]:
    return [3, 0, 13, value]


def prove_data(previous: StoredBatch, batches: list[StoredBatch], proof: list[int]) -> bytes:
    return b"\x01" + encode(
        [STORED_BATCH_INFO, STORED_BATCH_INFO + "[]", "uint256[]"],
        [previous.as_tuple(), [b.as_tuple() for b in batches], proof],
    )


def execute_data(
    batches: list[StoredBatch],
    ops: list[tuple[list[bytes], list[bytes], list[bytes]]],
    interop_roots: list[list] | None = None,
) -> bytes:
    roots = interop_roots if interop_roots is not None else [[] for _ in batches]
    return b"\x01" + encode(
        [STORED_BATCH_INFO + "[]", PRIORITY_OPS_BATCH_INFO + "[]", INTEROP_ROOT + "[][]"],
        [[b.as_tuple() for b in batches], ops, roots],
    )


class PriorityTree:
    """The node's priority tree (§7.4): leaves = L1 tx hashes, empty leaf keccak(""), padded to a
    power of two; range proofs with zero for the siblings a side does not need."""

    def __init__(self):
        self.leaves: list[bytes] = []

    def push(self, leaf: bytes) -> None:
        self.leaves.append(leaf)

    def _levels(self) -> list[list[bytes]]:
        depth = (len(self.leaves) - 1).bit_length() if self.leaves else 0
        level = self.leaves + [EMPTY_KECCAK] * ((1 << depth) - len(self.leaves))
        levels = [level]
        for _ in range(depth):
            level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
            levels.append(level)
        return levels

    def root(self) -> bytes:
        return self._levels()[-1][0]

    def range_proof(self, start: int, count: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
        """``(leftPath, rightPath, itemHashes)`` for leaves ``[start, start + count)``."""
        if count == 0:
            return [], [], []
        levels = self._levels()
        left, right = [], []
        lo, hi = start, start + count - 1
        for level in levels[:-1]:
            left.append(level[lo - 1] if lo % 2 == 1 else b"\0" * 32)
            right.append(level[hi + 1] if hi % 2 == 0 else b"\0" * 32)
            lo //= 2
            hi //= 2
        return left, right, self.leaves[start : start + count]
