"""The state Merkle tree (depth 64, blake2s, linked-list leaves), its proofs and commitments."""

from zkos_tw.merkle.commitment import last_256_hash, state_commitment
from zkos_tw.merkle.proofs import KeyProof, LeafProof, ProofError, verify_key_proof
from zkos_tw.merkle.tree import MerkleTree, TreeCorrupt, TreeError, TreePatch, TreeVersionError

__all__ = [
    "KeyProof",
    "LeafProof",
    "MerkleTree",
    "ProofError",
    "TreeCorrupt",
    "TreeError",
    "TreePatch",
    "TreeVersionError",
    "last_256_hash",
    "state_commitment",
    "verify_key_proof",
]
