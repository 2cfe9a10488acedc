"""The calldata of the commit / prove / execute transactions (reference ``zksync-os-server.md`` §7.2).

All three go to the validator timelock as ``f(address _chainAddress, uint256 from, uint256 to,
bytes data)`` with the diamond proxy as the chain address:

=========  =================================  ==============================================
command    function (selector)                ``data``
=========  =================================  ==============================================
commit     ``commitBatchesSharedBridge``      ``0x02 || abi.encode(StoredBatchInfo prev,
           (``0x0db9eb87``)                   CommitBatchInfoZKsyncOS[] [info])``
prove      ``proveBatchesSharedBridge``       ``0x01 || abi.encode(StoredBatchInfo old,
           (``0x9271e450``)                   StoredBatchInfo[] new, uint256[] proof)``
execute    ``executeBatchesSharedBridge``     ``0x01 || abi.encode(StoredBatchInfo[] infos,
           (``0xa085344d``)                   PriorityOpsBatchInfo[] ops, InteropRoot[][] ())``
=========  =================================  ==============================================

With batch verification on L1 (``docs/batch_verification.md``) a commit is instead
``commitBatchesMultisig(address, uint256, uint256, bytes data, address[] signers, bytes[]
signatures)`` (``MultisigCommitCommand``) with the same ``data`` and the validators' EIP-712
signatures, signers ascending.

The three command classes are what the senders take from their input queues; each knows its
batch range, its calldata, and the ``BatchEnvelope``\\ s it passes downstream once mined.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode

from zkos_tw.batcher.info import (
    COMMIT_BATCH_INFO_ABI,
    STORED_BATCH_INFO_ABI,
    BatchEnvelope,
    Proof,
    StoredBatchInfo,
)
from zkos_tw.hashing import keccak256
from zkos_tw.priority_tree import RangeProof

COMMIT_SIGNATURE = "commitBatchesSharedBridge(address,uint256,uint256,bytes)"
PROVE_SIGNATURE = "proveBatchesSharedBridge(address,uint256,uint256,bytes)"
EXECUTE_SIGNATURE = "executeBatchesSharedBridge(address,uint256,uint256,bytes)"
MULTISIG_COMMIT_SIGNATURE = "commitBatchesMultisig(address,uint256,uint256,bytes,address[],bytes[])"
COMMIT_SELECTOR = bytes.fromhex("0db9eb87")
MULTISIG_COMMIT_SELECTOR = keccak256(MULTISIG_COMMIT_SIGNATURE.encode())[:4]
PROVE_SELECTOR = bytes.fromhex("9271e450")
EXECUTE_SELECTOR = bytes.fromhex("a085344d")
#: The leading version byte of each payload.
COMMIT_DATA_VERSION = 0x02
PROVE_DATA_VERSION = 0x01
EXECUTE_DATA_VERSION = 0x01
PRIORITY_OPS_BATCH_INFO_ABI = "(bytes32[],bytes32[],bytes32[])"
INTEROP_ROOT_ABI = "(uint256,uint256,bytes32[])"
#: Fake SNARK proof: ``[type FAKE, previous hash 0, magic 13, public input]``.
FAKE_PROOF_TYPE = 3
FAKE_PROOF_MAGIC = 13
#: Real SNARK proof type; the verifier version goes in bits 8.. (§7.2).
REAL_PROOF_TYPE = 2
#: Proving execution version -> verifier version (0 for v1, 2 for v2, 3 for v3).
VERIFIER_VERSIONS = {1: 0, 2: 2, 3: 3}
#: The gas limit of every sender transaction (§7.2).
SENDER_GAS_LIMIT = 15_000_000


def timelock_call(selector: bytes, chain_address: bytes, first: int, last: int, data: bytes):
    """``selector || abi.encode(address, uint256 first, uint256 last, bytes data)``."""
    return selector + encode(
        ["address", "uint256", "uint256", "bytes"],
        ["0x" + bytes(chain_address).hex(), first, last, data],
    )


def commit_data(previous: StoredBatchInfo, envelope: BatchEnvelope) -> bytes:
    """The ``data`` of ``commitBatchesSharedBridge`` for one batch after ``previous``."""
    info = envelope.batch.commit_batch_info
    return bytes([COMMIT_DATA_VERSION]) + encode(
        [STORED_BATCH_INFO_ABI, COMMIT_BATCH_INFO_ABI + "[]"],
        [previous.abi_tuple(), [info.abi_tuple()]],
    )


def _shr32(value: bytes) -> int:
    return int.from_bytes(value, "big") >> 32


def snark_public_input(previous: StoredBatchInfo, batches: list[StoredBatchInfo]) -> int:
    """The SNARK public input over ``batches`` after ``previous`` (§7.2): per batch
    ``shr32(H(prev_state || state || commitment))``, folded with ``shr32(H(acc || pi))``."""
    acc = None
    prev_state = previous.state_commitment
    for batch in batches:
        pi = _shr32(keccak256(prev_state + batch.state_commitment + batch.commitment))
        if acc is None:
            acc = pi
        else:
            acc = _shr32(keccak256(acc.to_bytes(32, "big") + pi.to_bytes(32, "big")))
        prev_state = batch.state_commitment
    if acc is None:
        raise ValueError("a proof covers at least one batch")
    return acc


def proof_words(proof: Proof, public_input: int) -> list[int]:
    """The ``uint256[] proof`` argument: fake ``[3, 0, 13, pi]``; real ``[2 | (v << 8), 0,
    words...]`` with the proof as big-endian 32-byte words."""
    if proof.fake:
        return [FAKE_PROOF_TYPE, 0, FAKE_PROOF_MAGIC, public_input]
    if len(proof.data) % 32:
        raise ValueError(f"a real SNARK proof is 32-byte words, got {len(proof.data)} bytes")
    version = VERIFIER_VERSIONS.get(proof.proving_execution_version)
    if version is None:
        raise ValueError(f"no verifier for proving version {proof.proving_execution_version}")
    words = [int.from_bytes(proof.data[i : i + 32], "big") for i in range(0, len(proof.data), 32)]
    return [REAL_PROOF_TYPE | (version << 8), 0, *words]


def prove_data(
    previous: StoredBatchInfo, batches: list[StoredBatchInfo], proof: list[int]
) -> bytes:
    """The ``data`` of ``proveBatchesSharedBridge``."""
    return bytes([PROVE_DATA_VERSION]) + encode(
        [STORED_BATCH_INFO_ABI, STORED_BATCH_INFO_ABI + "[]", "uint256[]"],
        [previous.abi_tuple(), [b.abi_tuple() for b in batches], proof],
    )


def execute_data(batches: list[StoredBatchInfo], ops: list[RangeProof]) -> bytes:
    """The ``data`` of ``executeBatchesSharedBridge``; interop roots are all empty."""
    return bytes([EXECUTE_DATA_VERSION]) + encode(
        [
            STORED_BATCH_INFO_ABI + "[]",
            PRIORITY_OPS_BATCH_INFO_ABI + "[]",
            INTEROP_ROOT_ABI + "[][]",
        ],
        [[b.abi_tuple() for b in batches], [op.as_tuple() for op in ops], [[] for _ in batches]],
    )


def _stored(envelope: BatchEnvelope) -> StoredBatchInfo:
    return envelope.batch.commit_batch_info.stored()


def _check_consecutive(envelopes) -> None:
    numbers = [e.number for e in envelopes]
    if not numbers:
        raise ValueError("a command covers at least one batch")
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        raise ValueError(f"batches {numbers} are not consecutive")


@dataclass(frozen=True)
class CommitCommand:
    """Commit one batch (the reference sends exactly one per transaction)."""

    envelope: BatchEnvelope
    name = "commit"

    @property
    def envelopes(self) -> tuple[BatchEnvelope, ...]:
        return (self.envelope,)

    @property
    def first_batch(self) -> int:
        return self.envelope.number

    @property
    def last_batch(self) -> int:
        return self.envelope.number

    def calldata(self, chain_address: bytes) -> bytes:
        previous = self.envelope.batch.previous_stored_batch_info
        data = commit_data(previous, self.envelope)
        n = self.envelope.number
        return timelock_call(COMMIT_SELECTOR, chain_address, n, n, data)


@dataclass(frozen=True)
class MultisigCommitCommand(CommitCommand):
    """Commit one batch through ``commitBatchesMultisig`` with ``signers`` (ascending) and
    their 65-byte ``signatures``."""

    signers: tuple[bytes, ...] = ()
    signatures: tuple[bytes, ...] = ()

    def calldata(self, chain_address: bytes) -> bytes:
        previous = self.envelope.batch.previous_stored_batch_info
        data = commit_data(previous, self.envelope)
        n = self.envelope.number
        return MULTISIG_COMMIT_SELECTOR + encode(
            ["address", "uint256", "uint256", "bytes", "address[]", "bytes[]"],
            [
                "0x" + bytes(chain_address).hex(),
                n,
                n,
                data,
                ["0x" + bytes(s).hex() for s in self.signers],
                list(self.signatures),
            ],
        )


@dataclass(frozen=True)
class ProveCommand:
    """Prove a SNARK group of 1..10 consecutive batches with one proof."""

    batches: tuple[BatchEnvelope, ...]
    proof: Proof
    name = "prove"

    def __post_init__(self):
        _check_consecutive(self.batches)

    @property
    def envelopes(self) -> tuple[BatchEnvelope, ...]:
        return self.batches

    @property
    def first_batch(self) -> int:
        return self.batches[0].number

    @property
    def last_batch(self) -> int:
        return self.batches[-1].number

    def calldata(self, chain_address: bytes) -> bytes:
        previous = self.batches[0].batch.previous_stored_batch_info
        stored = [_stored(e) for e in self.batches]
        words = proof_words(self.proof, snark_public_input(previous, stored))
        data = prove_data(previous, stored, words)
        return timelock_call(PROVE_SELECTOR, chain_address, self.first_batch, self.last_batch, data)


@dataclass(frozen=True)
class ExecuteCommand:
    """Execute consecutive batches, each with the range proof of its priority operations."""

    batches: tuple[BatchEnvelope, ...]
    priority_ops: tuple[RangeProof, ...]
    name = "execute"

    def __post_init__(self):
        _check_consecutive(self.batches)
        if len(self.priority_ops) != len(self.batches):
            raise ValueError(
                f"{len(self.batches)} batches but {len(self.priority_ops)} priority-op proofs"
            )

    @property
    def envelopes(self) -> tuple[BatchEnvelope, ...]:
        return self.batches

    @property
    def first_batch(self) -> int:
        return self.batches[0].number

    @property
    def last_batch(self) -> int:
        return self.batches[-1].number

    def calldata(self, chain_address: bytes) -> bytes:
        data = execute_data([_stored(e) for e in self.batches], list(self.priority_ops))
        return timelock_call(
            EXECUTE_SELECTOR, chain_address, self.first_batch, self.last_batch, data
        )
