"""The EIP-712 digest validators sign for a multisig commit, and signing / recovery.

Reference §8.2: domain ``{name: "MultisigCommitter", version: "1", chainId: <settlement layer
chain id>, verifyingContract: <the validator timelock>}``, struct
``CommitBatchesMultisig(address chainAddress,uint256 processBatchFrom,uint256 processBatchTo,
bytes batchData)`` with ``batchData`` the exact commit calldata suffix (``0x02 || abi.encode(…)``).
Signatures are 65 bytes ``r || s || v`` with ``v`` in {27, 28} and a low ``s`` (what
``ValidatorTimelock.commitBatchesMultisig`` accepts). See docs/batch_verification.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve

from zkos_tw.hashing import keccak256

DOMAIN_TYPEHASH = keccak256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
COMMIT_TYPEHASH = keccak256(
    b"CommitBatchesMultisig(address chainAddress,uint256 processBatchFrom,"
    b"uint256 processBatchTo,bytes batchData)"
)
NAME_HASH = keccak256(b"MultisigCommitter")
VERSION_HASH = keccak256(b"1")
#: secp256k1 group order; signatures with s > N/2 are refused on L1.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class BadSignature(ValueError):
    """Not a well-formed 65-byte low-s signature, or no key recovers from it."""


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: bytes) -> bytes:
    if len(address) != 20:
        raise ValueError(f"address must be 20 bytes, got {len(address)}")
    return b"\0" * 12 + address


@dataclass(frozen=True)
class SigningDomain:
    """Where the signatures are valid: the settlement layer and its MultisigCommitter."""

    chain_id: int
    verifying_contract: bytes

    def separator(self) -> bytes:
        return keccak256(
            DOMAIN_TYPEHASH
            + NAME_HASH
            + VERSION_HASH
            + _word(self.chain_id)
            + _address_word(self.verifying_contract)
        )


def commit_digest(
    domain: SigningDomain, chain_address: bytes, first: int, last: int, batch_data: bytes
) -> bytes:
    """``keccak256(0x1901 || domainSeparator || hashStruct(CommitBatchesMultisig))``."""
    struct_hash = keccak256(
        COMMIT_TYPEHASH
        + _address_word(chain_address)
        + _word(first)
        + _word(last)
        + keccak256(batch_data)
    )
    return keccak256(b"\x19\x01" + domain.separator() + struct_hash)


def address_of_key(private_key: bytes) -> bytes:
    """The 20-byte address of a 32-byte secp256k1 private key."""
    public = coincurve.PrivateKey(private_key).public_key
    return keccak256(public.format(compressed=False)[1:])[12:]


def sign_digest(digest: bytes, private_key: bytes) -> bytes:
    """65 bytes ``r || s || v`` (v = 27 + recovery id; coincurve gives a low s)."""
    raw = coincurve.PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes([raw[64] + 27])


def recover(digest: bytes, signature: bytes) -> bytes:
    """The signer's address; ``BadSignature`` as L1 would refuse it (length, v, high s)."""
    if len(signature) != 65:
        raise BadSignature(f"signature must be 65 bytes, got {len(signature)}")
    v = signature[64]
    if v < 27:
        v += 27
    if v not in (27, 28):
        raise BadSignature(f"bad v {signature[64]}")
    if int.from_bytes(signature[32:64], "big") > SECP256K1_N // 2:
        raise BadSignature("high s")
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([v - 27]), digest, hasher=None
        )
    except Exception:  # coincurve raises plain Exception / ValueError
        raise BadSignature("no key recovers from the signature") from None
    return keccak256(public.format(compressed=False)[1:])[12:]
