"""Real SNARK proofs on our L1 (real anvil): the ``TestnetVerifier`` accepts a ``zkosctl prover
--snark`` aggregate (format ``V2``) in the reference's real form ``[2 | (v << 8), 0, words…]``
when the aggregate is the prove transaction's public input and the signer is registered by the
admin; fake proofs are still accepted (tests/contracts/test_executor.py)."""

from __future__ import annotations

from eth_account import Account

from tests.contracts import model
from tests.contracts.harness import STRANGER_KEY, L1ContractsTestCase
from tests.contracts.test_executor import BLOCKS_VERIFICATION, word
from zkos_tw.batcher.info import Proof
from zkos_tw.hashing import keccak256
from zkos_tw.l1 import calldata
from zkos_tw.l1.artifacts import decode_error, encode_call
from zkos_tw.l1.deploy import RpcError, eth_call
from zkos_tw.l1.sender_group import _revert_abis
from zkos_tw.prover_api import attestation
from zkos_tw.prover_worker import snark

SIGNER_KEY = b"\x51" * 32
SIGNER = Account.from_key(SIGNER_KEY).address
#: secp256k1 group order.
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def fri_proofs(previous: model.StoredBatch, batches: list[model.StoredBatch]) -> list[bytes]:
    """The workers' FRI attestations of ``batches`` (public input of §5.4)."""
    proofs, prev_state = [], previous.state_commitment
    for batch in batches:
        pi = keccak256(prev_state + batch.state_commitment + batch.commitment)
        proofs.append(attestation.encode(attestation.sign(batch.number, pi, SIGNER_KEY)))
        prev_state = batch.state_commitment
    return proofs


def real_words(aggregate: snark.SnarkAggregate, public_input: int = 0) -> list[int]:
    """What the node's prove command puts on L1 for a real SNARK of proving version 3."""
    return calldata.proof_words(Proof(False, aggregate.encode(), 3), public_input)


class SnarkVerifierTests(L1ContractsTestCase):
    def setUp(self):
        super().setUp()
        self.verifier = self.addresses.verifier
        self.b1, self.b2 = self.batch(1, self.l1_hashes), self.batch(2, [])
        self.commit(self.genesis, self.b1)
        self.commit(self.b1.stored(), self.b2)
        self.stored = [self.b1.stored(), self.b2.stored()]
        self.set_signer(SIGNER, True)

    def set_signer(self, signer: str, registered: bool, sender=None):
        data = encode_call(self.arts["TestnetVerifier"].abi, "setSnarkSigner", signer, registered)
        return (sender or self.rich).send("setSnarkSigner", self.verifier, data)

    def aggregate(self, batches=None, key=SIGNER_KEY) -> snark.SnarkAggregate:
        batches = batches or self.stored
        proofs = fri_proofs(self.genesis, batches)
        return snark.aggregate(batches[0].number, batches[-1].number, proofs, key)

    def prove_call(self, words: list[int], batches=None) -> bytes:
        batches = batches or self.stored
        data = model.prove_data(self.genesis, batches, words)
        first, last = batches[0].number, batches[-1].number
        return self.timelock_data("proveBatchesSharedBridge", first, last, data)

    def refuse(self, error: str, words: list[int], batches=None):
        return self.assertReverts(
            self.prover, self.timelock, self.prove_call(words, batches), error
        )

    def test_registered_signer_accepted(self):
        """Batches 1-2 proved with one real SNARK aggregate: ``BlocksVerification(0, 2)``."""
        aggregate = self.aggregate()
        self.assertEqual(
            int.from_bytes(aggregate.aggregate, "big"),
            model.public_input(self.genesis, self.stored),
        )
        words = real_words(aggregate)
        self.assertEqual(words[0], 2 | (3 << 8))
        receipt = self.prover.send("prove 1-2", self.timelock, self.prove_call(words))
        (log,) = [e for e in receipt["logs"] if e["topics"][0] == BLOCKS_VERIFICATION]
        self.assertEqual(log["topics"][1:], [word(0), word(2)])
        self.assertEqual(self.chain_view("getTotalBatchesVerified"), 2)

    def test_unregistered_signer_refused(self):
        """A well-formed aggregate from a key the admin did not register, or removed."""
        other = self.aggregate(key=b"\x52" * 32)
        reason = self.refuse("UnknownSnarkSigner", real_words(other))
        self.assertIn(Account.from_key(b"\x52" * 32).address.lower(), reason.lower())
        self.set_signer(SIGNER, False)
        self.refuse("UnknownSnarkSigner", real_words(self.aggregate()))

    def test_prove_sender_names_the_verifier_error(self):
        """The L1 prove sender decodes a verifier revert by name (its stop log line)."""
        call = {
            "from": self.prover.address,
            "to": self.timelock,
            "data": "0x" + self.prove_call(real_words(self.aggregate(key=b"\x52" * 32))).hex(),
        }
        with self.assertRaises(RpcError) as ctx:
            self.rpc.call("eth_call", call, "latest")
        reason = decode_error(ctx.exception.data, *_revert_abis())
        address = Account.from_key(b"\x52" * 32).address.lower()
        self.assertEqual(reason, f"UnknownSnarkSigner({address})")

    def test_wrong_public_input_refused(self):
        """An aggregate of batch 1 alone, sent for 1-2, and an aggregate over a state commitment
        L1 does not hold."""
        self.refuse("WrongPublicInput", real_words(self.aggregate(self.stored[:1])))
        forged = [self.b1.with_(state_commitment=b"\5" * 32).stored(), self.stored[1]]
        self.refuse("WrongPublicInput", real_words(self.aggregate(forged)))

    def test_tampered_signature_refused(self):
        """The signed digest covers the range: changing ``last`` in the tail changes the
        recovered signer."""
        words = real_words(self.aggregate())
        self.refuse("UnknownSnarkSigner", words[:5] + [words[5] + 1])

    def test_malformed_real_proof_refused(self):
        words = real_words(self.aggregate())
        tail = words[5]
        for bad in (
            words[:5],
            words + [0],
            [words[0], 1, *words[2:]],
            words[:5] + [tail ^ (3 << 248)],  # format 1
            words[:5] + [tail | (2 << 240)],  # v = 2 or 3
            words[:5] + [tail | (1 << 200)],  # a padding byte
            words[:4] + [N - words[4], tail ^ (1 << 240)],  # the high-s twin
            [2, 0, 1, 2, 3],
        ):
            self.refuse("MalformedRealProof", bad)
        self.refuse("UnsupportedProofType(1)", [1, *words[1:]])

    def test_admin_only(self):
        """Only the admin (the deployer) registers signers; the registration is readable."""
        verifier = self.arts["TestnetVerifier"]
        owner = eth_call(self.rpc, verifier, self.verifier, "owner")
        self.assertEqual(owner.lower(), self.rich.address.lower())
        self.assertTrue(eth_call(self.rpc, verifier, self.verifier, "isSnarkSigner", SIGNER))
        stranger = Account.from_key(STRANGER_KEY).address
        data = encode_call(verifier.abi, "setSnarkSigner", stranger, True)
        self.assertReverts(self.stranger, self.verifier, data, "NotOwner")
        self.assertFalse(eth_call(self.rpc, verifier, self.verifier, "isSnarkSigner", stranger))
