"""``SigningCommitFeeder`` and ``MultisigCommitCommand``: signed commits in order, already
committed batches bypass signing, the calldata is what the timelock's ABI expects."""

from __future__ import annotations

from eth_abi import decode
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.batch_verification.test_collector import ADDRESSES, DOMAIN, KEYS, FakeSigner
from tests.l1.sender_fixtures import envelopes
from zkos_tw.batch_verification.collector import SignatureCollector
from zkos_tw.batch_verification.commit_step import SigningCommitFeeder
from zkos_tw.batch_verification.digest import commit_digest, recover
from zkos_tw.batch_verification.policy import SigningPolicy
from zkos_tw.hashing import keccak256
from zkos_tw.l1.artifacts import load_artifact
from zkos_tw.l1.calldata import (
    MULTISIG_COMMIT_SELECTOR,
    CommitCommand,
    MultisigCommitCommand,
    commit_data,
)
from zkos_tw.pipeline import BoundedQueue

CHAIN = b"\x55" * 20


def drain(queue):
    out = []
    while len(queue):
        out.append(queue.get().result)
    return out


class SigningCommitFeederTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.committed = 1
        self.source, self.target = BoundedQueue(8), BoundedQueue(8)

    def start(self, on_l1=True):
        collector = SignatureCollector(
            endpoint=None,
            policy=SigningPolicy(2, frozenset(ADDRESSES[:3]), on_l1),
            domain=DOMAIN,
            clock=self.clock,
            request_timeout=5,
            retry_delay=1,
            total_timeout=30,
        )
        step = SigningCommitFeeder(
            self.source, self.target, collector, chain_address=CHAIN,
            l1_committed=lambda: self.committed,
        )  # fmt: skip
        step.startService()
        self.addCleanup(step.stopService)
        return collector, step

    def sign_all(self, signers):
        for signer in signers:
            for request in signer.requests():
                signer.sign(request)

    def test_signed_in_order_and_bypass(self):
        """Batch 1 is on L1: a plain commit without asking; 2 and 3 are signed by both, in
        order, each signature over that batch's own commit data."""
        collector, step = self.start()
        signers = [FakeSigner(collector, k) for k in KEYS[:2]]
        batches = envelopes(3)
        for e in batches:
            self.source.put(e)
        first = drain(self.target)
        self.assertEqual([type(c) for c in first], [CommitCommand])
        self.assertEqual(collector.metrics.bypassed._value.get(), 1)
        self.sign_all(signers)
        self.sign_all(signers)
        commands = first + drain(self.target)
        self.assertEqual([c.first_batch for c in commands], [1, 2, 3])
        self.assertEqual(step.signed, [2, 3])
        for command in commands[1:]:
            self.assertIsInstance(command, MultisigCommitCommand)
            self.assertEqual(list(command.signers), sorted(ADDRESSES[:2]))
            data = commit_data(command.envelope.batch.previous_stored_batch_info, command.envelope)
            digest = commit_digest(DOMAIN, CHAIN, command.first_batch, command.first_batch, data)
            self.assertEqual(
                [recover(digest, s) for s in command.signatures], sorted(ADDRESSES[:2])
            )

    def test_waits_for_signatures(self):
        """Nothing goes to the sender until the threshold is met."""
        collector, _ = self.start()
        (signer,) = [FakeSigner(collector, KEYS[0])]
        self.source.put(envelopes(2)[1])
        self.sign_all([signer])
        self.clock.advance(5)
        self.assertEqual(drain(self.target), [])
        self.assertEqual(collector.report()["waiting"]["batch"], 2)

    def test_config_policy_commits_plain(self):
        """Without a validator set on L1 the signed batch is committed the plain way."""
        collector, _ = self.start(on_l1=False)
        signers = [FakeSigner(collector, k) for k in KEYS[:2]]
        self.source.put(envelopes(2)[1])
        self.sign_all(signers)
        self.assertEqual([type(c) for c in drain(self.target)], [CommitCommand])


class MultisigCalldataTests(SynchronousTestCase):
    def test_selector_matches_the_timelock_abi(self):
        """The selector is the compiled ValidatorTimelock's commitBatchesMultisig."""
        abi = load_artifact("ValidatorTimelock").abi
        (entry,) = [e for e in abi if e.get("name") == "commitBatchesMultisig"]
        types = ",".join(i["type"] for i in entry["inputs"])
        self.assertEqual(types, "address,uint256,uint256,bytes,address[],bytes[]")
        expected = keccak256(f"commitBatchesMultisig({types})".encode())[:4]
        self.assertEqual(MULTISIG_COMMIT_SELECTOR, expected)

    def test_arguments(self):
        """Chain, from = to = batch, the plain commit's data, signers and signatures."""
        envelope = envelopes(2)[1]
        signers, signatures = (b"\x01" * 20, b"\x02" * 20), (b"\x0a" * 65, b"\x0b" * 65)
        command = MultisigCommitCommand(envelope, signers, signatures)
        raw = command.calldata(CHAIN)
        self.assertEqual(raw[:4], MULTISIG_COMMIT_SELECTOR)
        chain, first, last, data, got_signers, got_signatures = decode(
            ["address", "uint256", "uint256", "bytes", "address[]", "bytes[]"], raw[4:]
        )
        plain = CommitCommand(envelope).calldata(CHAIN)
        (plain_data,) = decode(["address", "uint256", "uint256", "bytes"], plain[4:])[3:]
        self.assertEqual((chain, first, last), ("0x" + CHAIN.hex(), 2, 2))
        self.assertEqual(data, plain_data)
        self.assertEqual([bytes.fromhex(a[2:]) for a in got_signers], list(signers))
        self.assertEqual(list(got_signatures), list(signatures))
