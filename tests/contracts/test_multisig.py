"""The MultisigCommitter role of the validator timelock (reference §8.2), on a real anvil.

The chain admin sets a validator set and a threshold; commits then need that many EIP-712
signatures by validators, signers strictly ascending. Every rejection has a test, and the
Python digest of zkos_tw.batch_verification equals the contract's.
"""

from __future__ import annotations

from eth_utils import to_checksum_address

from tests.contracts import model
from tests.contracts.harness import L1ContractsTestCase
from zkos_tw.batch_verification.digest import (
    SigningDomain,
    address_of_key,
    commit_digest,
    sign_digest,
)
from zkos_tw.l1.artifacts import encode_call
from zkos_tw.l1.deploy import DeployError, eth_call

KEYS = [bytes([i]) * 32 for i in (0x11, 0x22, 0x33, 0x44)]


def checksum(raw: bytes) -> str:
    return to_checksum_address(raw)


class MultisigTestCase(L1ContractsTestCase):
    """Helpers: a policy setter, the digest of a commit and signatures by ``KEYS``."""

    def setUp(self):
        super().setUp()
        self.validators = sorted(KEYS[:3], key=address_of_key)
        self.outsider = KEYS[3]
        chain_id = int(self.rpc.call("eth_chainId"), 16)
        self.domain = SigningDomain(chain_id, bytes.fromhex(self.timelock[2:]))
        self.batch1 = self.batch(1, self.l1_hashes)
        self.data1 = model.commit_data(self.genesis, [self.batch1])

    def timelock_view(self, name, *args):
        return eth_call(self.rpc, self.arts["ValidatorTimelock"], self.timelock, name, *args)

    def set_policy(self, keys, threshold, sender=None):
        addresses = [checksum(address_of_key(k)) for k in keys]
        data = encode_call(
            self.arts["ValidatorTimelock"].abi,
            "setBatchVerification",
            self.chain,
            addresses,
            threshold,
        )
        return (sender or self.rich).send("set batch verification", self.timelock, data)

    def signatures(self, keys, data=None, first=1, last=1):
        digest = commit_digest(
            self.domain, bytes.fromhex(self.chain[2:]), first, last, data or self.data1
        )
        return [checksum(address_of_key(k)) for k in keys], [sign_digest(digest, k) for k in keys]

    def multisig_call(self, signers, signatures, data=None, first=1, last=1):
        return encode_call(
            self.arts["ValidatorTimelock"].abi,
            "commitBatchesMultisig",
            self.chain,
            first,
            last,
            data or self.data1,
            signers,
            signatures,
        )

    def refuse(self, error, signers, signatures, **kwargs):
        call = self.multisig_call(signers, signatures, **kwargs)
        return self.assertReverts(self.committer, self.timelock, call, error)


class PolicyTests(MultisigTestCase):
    """Setting the validator set and threshold."""

    def test_owner_sets_policy(self):
        """The owner's set and threshold are readable back."""
        self.set_policy(self.validators, 2)
        self.assertEqual(self.timelock_view("batchVerificationThreshold", self.chain), 2)
        listed = self.timelock_view("batchValidators", self.chain)
        self.assertEqual(
            [a.lower() for a in listed],
            ["0x" + address_of_key(k).hex() for k in self.validators],
        )
        self.set_policy(self.validators[:1], 1)
        self.assertFalse(
            self.timelock_view(
                "isBatchValidator", self.chain, checksum(address_of_key(self.validators[2]))
            )
        )

    def test_stranger_cannot_set_policy(self):
        """Only the owner (chain admin) sets the policy."""
        with self.assertRaisesRegex(DeployError, "OnlyOwner"):
            self.set_policy(self.validators, 1, sender=self.stranger)

    def test_threshold_above_set(self):
        """A threshold the set cannot reach is refused."""
        with self.assertRaisesRegex(DeployError, "ThresholdAboveValidators"):
            self.set_policy(self.validators[:1], 2)

    def test_duplicate_validator(self):
        """The set lists each validator once."""
        with self.assertRaisesRegex(DeployError, "DuplicateValidator"):
            self.set_policy([self.validators[0], self.validators[0]], 1)


class DigestTests(MultisigTestCase):
    """The Python EIP-712 digest is the contract's."""

    def test_digest_golden(self):
        """``commit_digest`` equals ``commitBatchesMultisigDigest`` for two payloads."""
        for first, last, data in ((1, 1, self.data1), (7, 9, b"\x02" + b"\xab" * 300)):
            on_chain = self.timelock_view(
                "commitBatchesMultisigDigest", self.chain, first, last, data
            )
            self.assertEqual(
                on_chain,
                commit_digest(self.domain, bytes.fromhex(self.chain[2:]), first, last, data),
            )


class MultisigCommitTests(MultisigTestCase):
    """commitBatchesMultisig accepts a threshold of sorted validator signatures only."""

    def setUp(self):
        super().setUp()
        self.set_policy(self.validators, 2)

    def test_commits_with_threshold(self):
        """Two of three validators, sorted: batch 1 is committed."""
        signers, signatures = self.signatures(self.validators[:2])
        self.committer.send(
            "multisig commit", self.timelock, self.multisig_call(signers, signatures)
        )
        self.assertEqual(self.chain_view("getTotalBatchesCommitted"), 1)

    def test_plain_commit_refused_while_threshold(self):
        """With a threshold the plain path is closed."""
        self.assertReverts(
            self.committer,
            self.timelock,
            self.timelock_data("commitBatchesSharedBridge", 1, 1, self.data1),
            "MultisigRequired",
        )

    def test_threshold_zero_keeps_plain_path(self):
        """Back to threshold 0, the plain commit works again."""
        self.set_policy(self.validators, 0)
        self.commit(self.genesis, self.batch1)
        self.assertEqual(self.chain_view("getTotalBatchesCommitted"), 1)

    def test_too_few_signatures(self):
        """One signature for threshold 2."""
        signers, signatures = self.signatures(self.validators[:1])
        self.refuse("NotEnoughSignatures", signers, signatures)

    def test_signer_outside_set(self):
        """A valid signature by a key outside the set."""
        keys = sorted([self.validators[0], self.outsider], key=address_of_key)
        signers, signatures = self.signatures(keys)
        self.refuse("SignerNotValidator", signers, signatures)

    def test_duplicate_signer(self):
        """The same validator twice does not count twice."""
        signers, signatures = self.signatures([self.validators[0]] * 2)
        self.refuse("DuplicateSigner", signers, signatures)

    def test_unsorted_signers(self):
        """Signers must be ascending."""
        signers, signatures = self.signatures(self.validators[:2][::-1])
        self.refuse("SignersNotSorted", signers, signatures)

    def test_signature_over_other_data(self):
        """Signatures over another batchData do not recover to the signer."""
        signers, signatures = self.signatures(self.validators[:2], data=self.data1 + b"\0")
        self.refuse("SignatureMismatch", signers, signatures)

    def test_signature_over_other_range(self):
        """Signatures over another range do not recover to the signer."""
        signers, signatures = self.signatures(self.validators[:2], first=1, last=2)
        self.refuse("SignatureMismatch", signers, signatures)

    def test_malformed_signature(self):
        """A 64-byte or high-s signature is refused as invalid."""
        signers, signatures = self.signatures(self.validators[:2])
        self.refuse("InvalidSignature", signers, [signatures[0][:64], signatures[1]])
        s = int.from_bytes(signatures[0][32:64], "big")
        n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
        flipped = signatures[0][:32] + (n - s).to_bytes(32, "big") + bytes([55 - signatures[0][64]])
        self.refuse("InvalidSignature", signers, [flipped, signatures[1]])

    def test_count_mismatch(self):
        """As many signatures as signers."""
        signers, signatures = self.signatures(self.validators[:2])
        self.refuse("SignatureCountMismatch", signers, signatures[:1])

    def test_only_committer(self):
        """Only the commit operator calls it."""
        signers, signatures = self.signatures(self.validators[:2])
        self.assertReverts(
            self.stranger, self.timelock, self.multisig_call(signers, signatures), "NotOperator"
        )
