"""The SNARK "proof" of a ``zkosctl prover --snark`` worker: an aggregate of FRI attestations,
format ``V1``.

We have no SNARK wrapper either (reference §5.3), so a SNARK here aggregates the FRI
attestations of ``first..=last``: the worker decodes each one, checks the batch numbers run
``first..=last``, and signs ``aggregate = H_k(public_input_first || … || public_input_last)``.

Bytes (a whole number of 32-byte words, as ``proof_words`` puts a real SNARK on L1)::

    aggregate[32] || r[32] || s[32] || v[1] || zero[31]

signed over ``H_k("zkos-tw snark aggregate v1" || first u64 BE || last u64 BE || aggregate)``.
The server does not verify SNARK proofs (neither does the reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve

from zkos_tw.hashing import keccak256
from zkos_tw.prover_api import attestation

DOMAIN = b"zkos-tw snark aggregate v1"
SIZE = 128


class AggregationError(ValueError):
    """The FRI proofs of a SNARK job do not make one range of attestations."""


@dataclass(frozen=True)
class SnarkAggregate:
    first: int
    last: int
    aggregate: bytes
    signature: bytes

    def encode(self) -> bytes:
        data = self.aggregate + self.signature
        return data + bytes(SIZE - len(data))


def signing_hash(first: int, last: int, aggregate: bytes) -> bytes:
    return keccak256(DOMAIN + first.to_bytes(8, "big") + last.to_bytes(8, "big") + aggregate)


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
    total = keccak256(b"".join(inputs))
    signature = coincurve.PrivateKey(private_key).sign_recoverable(
        signing_hash(first, last, total), hasher=None
    )
    return SnarkAggregate(first, last, total, signature)


def decode(data: bytes, first: int, last: int) -> SnarkAggregate:
    """The aggregate in ``data`` (as the worker submits it for ``first..=last``)."""
    if len(data) != SIZE or any(data[97:]):
        raise AggregationError(f"expected {SIZE} bytes ending in 31 zero bytes")
    return SnarkAggregate(first, last, data[:32], data[32:97])
