"""The ``V1`` FRI attestation: golden bytes, the §5.4 public input, signature recovery and the
verifier's refusals."""

from dataclasses import replace

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.prover_api.helpers import WORKER, WORKER_KEY, good_proof, sealed
from zkos_tw.hashing import keccak256
from zkos_tw.interfaces import IFriProofVerifier
from zkos_tw.prover_api import attestation as at

GOLDEN = b'{"V1":{"batch_number":3,"public_input":"0x' + b"ab" * 32 + b'","signature":"0x'


class AttestationTests(SynchronousTestCase):
    def test_golden_bytes(self):
        """Compact JSON, keys in order; the signature is deterministic (RFC 6979)."""
        data = at.encode(at.sign(3, b"\xab" * 32, WORKER_KEY))
        self.assertTrue(data.startswith(GOLDEN), data)
        self.assertTrue(data.endswith(b'"}}'))
        self.assertEqual(len(data), len(GOLDEN) + 130 + 3)
        self.assertEqual(data, at.encode(at.sign(3, b"\xab" * 32, WORKER_KEY)))
        decoded = at.decode(data)
        self.assertEqual((decoded.batch_number, decoded.public_input), (3, b"\xab" * 32))
        self.assertEqual(decoded.signer(), WORKER)

    def test_public_input(self):
        """H_k(previous state commitment || new state commitment || batch commitment)."""
        batch = sealed(1).batch
        expected = keccak256(b"\x11" * 32 + b"\x22" * 32 + batch.commit_batch_info.commitment())
        self.assertEqual(at.expected_public_input(batch), expected)
        words = at.public_input_words(expected)
        self.assertEqual(len(words), 8)
        self.assertEqual(words[0], int.from_bytes(expected[:4], "little"))

    def test_verifier_accepts(self):
        env = sealed(1)
        verifier = at.AttestationVerifier([WORKER])
        verifyObject(IFriProofVerifier, verifier)
        verifier.verify(env.batch, good_proof(env))

    def test_verifier_refusals(self):
        env = sealed(1)
        verify = at.AttestationVerifier([WORKER]).verify
        other = replace(
            env.batch,
            commit_batch_info=replace(env.batch.commit_batch_info, new_state_commitment=b"\1" * 32),
        )
        with self.assertRaisesRegex(at.ProofRejected, "public input mismatch"):
            verify(other, good_proof(env))
        with self.assertRaisesRegex(at.ProofRejected, "unknown signer"):
            verify(env.batch, good_proof(env, key=b"\x02" * 32))
        with self.assertRaisesRegex(at.ProofRejected, "batch 1, not 2"):
            verify(sealed(2).batch, good_proof(env))

    def test_decode_errors(self):
        cases = {
            b"\xff": "not JSON",
            b"[]": "one version key",
            b'{"V2":{}}': "unknown attestation version 'V2'",
            b'{"V1":{"batch_number":-1}}': "batch_number",
            b'{"V1":{"batch_number":1,"public_input":"0x00"}}': "expected 32 bytes, got 1",
            b'{"V1":{"batch_number":1,"public_input":"zz"}}': "expected 0x-hex",
        }
        for raw, message in cases.items():
            with self.assertRaisesRegex(at.AttestationDecodeError, message):
                at.decode(raw)

    def test_refuse_real_proofs(self):
        """The default verifier of a node without real provers refuses every proof."""
        from zkos_tw.prover_api.fri_jobs import RefuseRealProofs

        verifyObject(IFriProofVerifier, RefuseRealProofs())
        with self.assertRaises(at.ProofRejected):
            RefuseRealProofs().verify(sealed(1).batch, b"")

    def test_bad_signature(self):
        a = at.Attestation(1, b"\0" * 32, b"\0" * 65)
        with self.assertRaisesRegex(at.ProofRejected, "invalid signature"):
            a.signer()
