"""Shared set-up for the prover API tests: sealed envelopes, a worker key, its attestations."""

from __future__ import annotations

import coincurve

from tests.batcher.envelopes import envelope
from zkos_tw.batcher.info import BatchEnvelope
from zkos_tw.batcher.service import BATCH_SEALED
from zkos_tw.prover_api import attestation

WORKER_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
WORKER = attestation.address_of(coincurve.PrivateKey(WORKER_KEY).public_key)


def sealed(number: int, at: float = 0.0) -> BatchEnvelope:
    """Batch ``number`` (blocks ``number..=number``) sealed at ``at``, not yet proved."""
    return BatchEnvelope(envelope(number, number, number).batch, stage_times={BATCH_SEALED: at})


def good_proof(env: BatchEnvelope, key: bytes = WORKER_KEY) -> bytes:
    """A ``V1`` attestation of ``env`` with the right public input, signed by ``key``."""
    public_input = attestation.expected_public_input(env.batch)
    return attestation.encode(attestation.sign(env.number, public_input, key))
