"""The SNARK "proof" of a ``zkosctl prover --snark`` worker: a signed aggregate of FRI
attestations, format ``V2``, which our L1 ``TestnetVerifier`` checks on chain.

We have no SNARK wrapper either (reference §5.3), so a SNARK here aggregates the FRI
attestations of ``first..=last``: the worker decodes each one, checks the batch numbers run
``first..=last``, folds their public inputs into the SNARK public input L1 computes (reference
§7.2: ``acc = shr32(pi_first)``, then ``acc = shr32(H_k(acc || shr32(pi_i)))``) and signs it.

Bytes (four 32-byte words, as ``proof_words`` puts a real SNARK on L1)::

    aggregate[32] || r[32] || s[32] || tail[32]
    tail = format u8 (2) || v u8 (0 | 1) || zero[14] || first u64 BE || last u64 BE

signed over ``H_k("zkos-tw snark aggregate v2" || first u64 BE || last u64 BE || aggregate)``.
The server does not verify SNARK proofs (neither does the reference); L1 does.

Format ``V1`` (``aggregate = H_k(pi_first || … || pi_last)``, no tail) could never be accepted
by L1 and is no longer produced or read.
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve

from zkos_tw.hashing import keccak256
from zkos_tw.prover_api import attestation

DOMAIN = b"zkos-tw snark aggregate v2"
FORMAT = 2
SIZE = 128


class AggregationError(ValueError):
    """The FRI proofs of a SNARK job do not make one range of attestations, or the bytes are
    not a ``V2`` aggregate."""


@dataclass(frozen=True)
class SnarkAggregate:
    first: int
    last: int
    aggregate: bytes
    signature: bytes  # r || s || v (v is 0 or 1)

    def encode(self) -> bytes:
        tail = (
            bytes([FORMAT, self.signature[64]])
            + bytes(14)
            + self.first.to_bytes(8, "big")
            + self.last.to_bytes(8, "big")
        )
        return self.aggregate + self.signature[:64] + tail

    def signer(self) -> bytes:
        """The 20-byte address that signed the aggregate."""
        public = coincurve.PublicKey.from_signature_and_message(
            self.signature, signing_hash(self.first, self.last, self.aggregate), hasher=None
        )
        return keccak256(public.format(compressed=False)[1:])[12:]


def signing_hash(first: int, last: int, aggregate: bytes) -> bytes:
    return keccak256(DOMAIN + first.to_bytes(8, "big") + last.to_bytes(8, "big") + aggregate)


def _shr32(value: bytes) -> bytes:
    return (int.from_bytes(value, "big") >> 32).to_bytes(32, "big")


def snark_public_input(public_inputs: list[bytes]) -> bytes:
    """The SNARK public input (32 bytes, top 4 zero) over consecutive FRI public inputs."""
    if not public_inputs:
        raise AggregationError("a SNARK covers at least one batch")
    acc = _shr32(public_inputs[0])
    for pi in public_inputs[1:]:
        acc = _shr32(keccak256(acc + _shr32(pi)))
    return acc


def aggregate(first: int, last: int, fri_proofs: list[bytes], private_key: bytes):
    """The signed aggregate of the ``V1`` attestations of batches ``first..=last``."""
    if last - first + 1 != len(fri_proofs):
        raise AggregationError(f"{len(fri_proofs)} FRI proofs for batches {first}-{last}")
    inputs = []
    for number, data in enumerate(fri_proofs, start=first):
        try:
            fri = attestation.decode(data)
        except attestation.AttestationDecodeError as e:
            raise AggregationError(f"FRI proof of batch {number}: {e}") from None
        if fri.batch_number != number:
            raise AggregationError(f"FRI proof {number - first} is for batch {fri.batch_number}")
        inputs.append(fri.public_input)
    total = snark_public_input(inputs)
    signature = coincurve.PrivateKey(private_key).sign_recoverable(
        signing_hash(first, last, total), hasher=None
    )
    return SnarkAggregate(first, last, total, signature)


def decode(data: bytes) -> SnarkAggregate:
    """The ``V2`` aggregate in ``data``."""
    if len(data) != SIZE:
        raise AggregationError(f"expected {SIZE} bytes, got {len(data)}")
    tail = data[96:]
    if tail[0] != FORMAT:
        raise AggregationError(f"unknown SNARK aggregate format {tail[0]} (this node reads 2)")
    if tail[1] > 1 or any(tail[2:16]):
        raise AggregationError("malformed tail word")
    first = int.from_bytes(tail[16:24], "big")
    last = int.from_bytes(tail[24:32], "big")
    return SnarkAggregate(first, last, data[:32], data[32:96] + tail[1:2])
