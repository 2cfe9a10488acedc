"""What a batch is to L1: ``StoredBatchInfo``, ``CommitBatchInfo`` and the ``BatchEnvelope``.

These are the shapes every pipeline stage passes on (batcher -> provers -> gapless committer ->
L1 senders -> priority tree), with the reference's ABI encodings and hashes (§6.3, §6.4, §7.2)
and the JSON keys of proof storage (§5.5). Hashes and addresses are ``bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_abi import encode

from zkos_tw.hashing import keccak256

ZERO32 = b"\0" * 32
EMPTY_KECCAK = keccak256(b"")
#: ``IExecutor.StoredBatchInfo``: nine static words.
STORED_BATCH_INFO_ABI = "(uint64,bytes32,uint64,uint256,bytes32,bytes32,bytes32,uint256,bytes32)"
#: ``IExecutor.CommitBatchInfoZKsyncOS``.
COMMIT_BATCH_INFO_ABI = (
    "(uint64,bytes32,uint256,bytes32,bytes32,bytes32,address,bytes32,uint64,uint64,uint256,bytes)"
)
#: The commitment of the genesis batch (reference §6.4).
GENESIS_COMMITMENT = (1).to_bytes(32, "big")


@dataclass(frozen=True)
class StoredBatchInfo:
    """``StoredBatchInfo`` (ZKsync OS meaning, §6.4); L1 keeps ``hash()`` per batch."""

    batch_number: int
    state_commitment: bytes
    number_of_layer1_txs: int
    priority_operations_hash: bytes
    dependency_roots_rolling_hash: bytes
    l2_to_l1_logs_root_hash: bytes
    commitment: bytes
    last_block_timestamp: int = 0

    def abi_tuple(self) -> tuple:
        """The L1 struct: ``indexRepeatedStorageChanges`` and ``timestamp`` are 0 (§6.4)."""
        return (
            self.batch_number,
            self.state_commitment,
            0,
            self.number_of_layer1_txs,
            self.priority_operations_hash,
            self.dependency_roots_rolling_hash,
            self.l2_to_l1_logs_root_hash,
            0,
            self.commitment,
        )

    def hash(self) -> bytes:
        """``keccak256(abi.encode(StoredBatchInfo))``, what ``storedBatchHash(n)`` returns."""
        return keccak256(encode([STORED_BATCH_INFO_ABI], [self.abi_tuple()]))

    @classmethod
    def genesis(cls, genesis_state_commitment: bytes) -> StoredBatchInfo:
        """Batch 0 (§6.4): the genesis state commitment, no L1 txs, commitment ``0x..01``."""
        return cls(0, genesis_state_commitment, 0, EMPTY_KECCAK, ZERO32, ZERO32, GENESIS_COMMITMENT)


@dataclass(frozen=True)
class CommitBatchInfo:
    """``CommitBatchInfoZKsyncOS`` plus the upgrade tx hash (§6.3); ``commitment()`` is §6.4's."""

    batch_number: int
    new_state_commitment: bytes
    number_of_layer1_txs: int
    priority_operations_hash: bytes
    dependency_roots_rolling_hash: bytes
    l2_to_l1_logs_root_hash: bytes
    l2_da_validator: bytes  # 20 bytes, zero
    da_commitment: bytes
    first_block_timestamp: int
    last_block_timestamp: int
    chain_id: int
    chain_address: bytes  # 20 bytes: the diamond proxy
    operator_da_input: bytes
    upgrade_tx_hash: bytes | None = None

    def abi_tuple(self) -> tuple:
        return (
            self.batch_number,
            self.new_state_commitment,
            self.number_of_layer1_txs,
            self.priority_operations_hash,
            self.dependency_roots_rolling_hash,
            self.l2_to_l1_logs_root_hash,
            "0x" + self.l2_da_validator.hex(),
            self.da_commitment,
            self.first_block_timestamp,
            self.last_block_timestamp,
            self.chain_id,
            self.operator_da_input,
        )

    def commitment(self) -> bytes:
        """The ``BatchOutput`` hash (§6.4): 260 packed bytes."""
        return keccak256(
            self.chain_id.to_bytes(32, "big")
            + self.first_block_timestamp.to_bytes(8, "big")
            + self.last_block_timestamp.to_bytes(8, "big")
            + self.l2_da_validator
            + self.da_commitment
            + self.number_of_layer1_txs.to_bytes(32, "big")
            + self.priority_operations_hash
            + self.l2_to_l1_logs_root_hash
            + (self.upgrade_tx_hash or ZERO32)
            + ZERO32  # interop roots rolling hash
        )

    def stored(self) -> StoredBatchInfo:
        """The ``StoredBatchInfo`` L1 keeps once this batch is committed."""
        return StoredBatchInfo(
            self.batch_number,
            self.new_state_commitment,
            self.number_of_layer1_txs,
            self.priority_operations_hash,
            self.dependency_roots_rolling_hash,
            self.l2_to_l1_logs_root_hash,
            self.commitment(),
            self.last_block_timestamp,
        )


@dataclass(frozen=True)
class BatchMetadata:
    """Proof storage's ``BatchMetadata`` (§5.5)."""

    previous_stored_batch_info: StoredBatchInfo
    commit_batch_info: CommitBatchInfo
    first_block_number: int
    last_block_number: int
    tx_count: int
    execution_version: int = 3

    @property
    def number(self) -> int:
        return self.commit_batch_info.batch_number


#: ``FriProof`` / ``SnarkProof`` values: ``FAKE`` or real bytes with their execution version.
FAKE = "Fake"


@dataclass(frozen=True)
class Proof:
    """A FRI or SNARK proof: ``fake`` or ``data`` (real bytes) with its execution version."""

    fake: bool
    data: bytes = b""
    proving_execution_version: int = 3

    @classmethod
    def fake_proof(cls) -> Proof:
        return cls(True)


@dataclass(frozen=True)
class BatchEnvelope:
    """One batch moving down the pipeline: its metadata, then (once proved) its FRI proof, and
    the times each stage reached it (for the §5.6 latency histogram)."""

    batch: BatchMetadata
    fri_proof: Proof | None = None
    stage_times: dict = field(default_factory=dict, compare=False)

    @property
    def number(self) -> int:
        return self.batch.number


@dataclass(frozen=True)
class ProofCommand:
    """One ``proveBatches`` L1 transaction's worth: consecutive committed batches and the SNARK
    proof that covers them (fake or real)."""

    batches: tuple[BatchEnvelope, ...]
    proof: Proof

    @property
    def first(self) -> int:
        return self.batches[0].number

    @property
    def last(self) -> int:
        return self.batches[-1].number
