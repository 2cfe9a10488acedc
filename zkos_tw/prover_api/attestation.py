"""The FRI proof bytes of this node: a signed re-execution attestation, format ``V1``.

We have no Airbender verifier (reference §5.4), so a proof here is honest about what it is: a
worker says "re-executing this batch from its witness gives this public input" and signs it.
The server accepts it when the public input is the expected
``H_k(state_before || state_after || batch_output)`` and the signer is one it trusts.

Wire form (compact JSON, UTF-8, keys in this order)::

    {"V1":{"batch_number":N,"public_input":"0x<32 bytes>","signature":"0x<65 bytes>"}}

``signature`` is secp256k1 ``r || s || v`` (v in {0, 1}) over
``H_k("zkos-tw fri attestation v1" || batch_number u64 BE || public_input)``; the signer is the
address recovered from it. See docs/proving.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import coincurve
from zope.interface import implementer

from zkos_tw.batcher.info import BatchMetadata
from zkos_tw.hashing import keccak256
from zkos_tw.interfaces import IFriProofVerifier

DOMAIN = b"zkos-tw fri attestation v1"
VERSION = "V1"


class AttestationDecodeError(ValueError):
    """The proof bytes are not a ``V1`` attestation."""


class ProofRejected(ValueError):
    """The attestation decodes but does not prove this batch (wrong input, unknown signer)."""


def expected_public_input(batch: BatchMetadata) -> bytes:
    """§5.4: ``H_k(previous state commitment || new state commitment || batch commitment)``."""
    info = batch.commit_batch_info
    return keccak256(
        batch.previous_stored_batch_info.state_commitment
        + info.new_state_commitment
        + info.commitment()
    )


def public_input_words(public_input: bytes) -> list[int]:
    """The 8 little-endian u32 words the reference compares with the verifier's registers."""
    return [int.from_bytes(public_input[i : i + 4], "little") for i in range(0, 32, 4)]


def signing_hash(batch_number: int, public_input: bytes) -> bytes:
    return keccak256(DOMAIN + batch_number.to_bytes(8, "big") + public_input)


def address_of(public_key: coincurve.PublicKey) -> bytes:
    return keccak256(public_key.format(compressed=False)[1:])[12:]


@dataclass(frozen=True)
class Attestation:
    """One decoded ``V1`` attestation."""

    batch_number: int
    public_input: bytes
    signature: bytes

    def signer(self) -> bytes:
        """The 20-byte address that signed; ``ProofRejected`` if the signature is invalid."""
        try:
            key = coincurve.PublicKey.from_signature_and_message(
                self.signature, signing_hash(self.batch_number, self.public_input), hasher=None
            )
        except Exception:  # coincurve raises plain Exception / ValueError
            raise ProofRejected("invalid signature") from None
        return address_of(key)


def sign(batch_number: int, public_input: bytes, private_key: bytes) -> Attestation:
    """The attestation a worker holding ``private_key`` (32 bytes) makes."""
    key = coincurve.PrivateKey(private_key)
    signature = key.sign_recoverable(signing_hash(batch_number, public_input), hasher=None)
    return Attestation(batch_number, public_input, signature)


def encode(attestation: Attestation) -> bytes:
    body = {
        "batch_number": attestation.batch_number,
        "public_input": "0x" + attestation.public_input.hex(),
        "signature": "0x" + attestation.signature.hex(),
    }
    return json.dumps({VERSION: body}, separators=(",", ":")).encode()


def _hex(value, size: int, name: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise AttestationDecodeError(f"{name}: expected 0x-hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise AttestationDecodeError(f"{name}: invalid hex") from None
    if len(raw) != size:
        raise AttestationDecodeError(f"{name}: expected {size} bytes, got {len(raw)}")
    return raw


def decode(data: bytes) -> Attestation:
    """Parse ``V1`` bytes; ``AttestationDecodeError`` says what is wrong."""
    try:
        outer = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise AttestationDecodeError(f"not JSON: {e}") from None
    if not isinstance(outer, dict) or len(outer) != 1:
        raise AttestationDecodeError("expected one version key")
    ((version, body),) = outer.items()
    if version != VERSION:
        raise AttestationDecodeError(f"unknown attestation version {version!r}")
    if not isinstance(body, dict):
        raise AttestationDecodeError("expected an object")
    number = body.get("batch_number")
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < 2**64:
        raise AttestationDecodeError("batch_number: expected u64")
    return Attestation(
        number,
        _hex(body.get("public_input"), 32, "public_input"),
        _hex(body.get("signature"), 65, "signature"),
    )


@implementer(IFriProofVerifier)
class AttestationVerifier:
    """The ``IFriProofVerifier`` of ``V1`` attestations: decode, check batch and public input,
    check the signer is trusted. Raises ``AttestationDecodeError`` or ``ProofRejected``."""

    def __init__(self, trusted_signers):
        self.trusted_signers = frozenset(bytes(a) for a in trusted_signers)

    def verify(self, batch: BatchMetadata, proof: bytes) -> None:
        attestation = decode(proof)
        if attestation.batch_number != batch.number:
            raise ProofRejected(
                f"attestation is for batch {attestation.batch_number}, not {batch.number}"
            )
        if attestation.public_input != expected_public_input(batch):
            raise ProofRejected("public input mismatch")
        if attestation.signer() not in self.trusted_signers:
            raise ProofRejected("unknown signer")


def create_fri_verifier(config) -> AttestationVerifier:
    """The verifier of a ``ProverApiConfig``: attestations signed by ``trusted_signers``
    (``prover_api_trusted_signers``; none: every real proof is refused as unknown signer)."""
    return AttestationVerifier(bytes.fromhex(a[2:]) for a in config.trusted_signers)
