"""The effective policy re-read from L1 (issue #14 follow-up): a main node started while L1 had no
validator set follows one configured later — before the next commit once the last read is
``POLICY_REFRESH_SECONDS`` old, and at once when a plain commit reverts with
``MultisigRequired``. On fakes: ``FakeSenderL1`` extended with the timelock's policy, the real
``L1Sender``, ``SignatureCollector`` and ``SigningCommitFeeder``, a ``Clock``."""

from __future__ import annotations

from types import SimpleNamespace

from eth_abi import decode, encode
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from tests.batch_verification.test_collector import ADDRESSES, DOMAIN, KEYS, FakeSigner
from tests.l1.sender_fixtures import DIAMOND, GWEI, KEY, TIMELOCK, FakeSenderL1, envelopes
from zkos_tw.batch_verification.collector import SignatureCollector
from zkos_tw.batch_verification.commit_step import SigningCommitFeeder
from zkos_tw.batch_verification.policy import L1PolicyReader, SigningPolicy, effective_policy
from zkos_tw.hashing import keccak256
from zkos_tw.l1 import senders
from zkos_tw.l1.artifacts import load_artifact
from zkos_tw.l1.calldata import COMMIT_SELECTOR, MULTISIG_COMMIT_SELECTOR
from zkos_tw.l1.client import L1Error, L1RpcError
from zkos_tw.pipeline import BoundedQueue

MULTISIG_REQUIRED = keccak256(b"MultisigRequired(address,uint256)")[:4]
SIGNER_NOT_VALIDATOR = keccak256(b"SignerNotValidator(address)")[:4]
#: What the node's config says: threshold 0, no accepted signers.
CONFIG = SimpleNamespace(threshold=0, accepted_signers=())


class PolicyL1(FakeSenderL1):
    """``FakeSenderL1`` whose timelock also has a validator set and threshold: while the
    threshold is above 0 a plain commit is mined failed and its replay reverts with
    ``MultisigRequired(chain, threshold)``; a multisig commit goes through."""

    def __init__(self):
        super().__init__()
        self.threshold = 0
        self.validators: list[bytes] = []
        self.policy_reads = 0
        self.unreachable = False

    def call_function(self, to, signature, args=(), returns=(), block="latest"):
        if signature.startswith("batch"):
            assert to == TIMELOCK and args == ["0x" + DIAMOND.hex()], (to, args)
            if self.unreachable:
                return defer.fail(L1Error("eth_call", "connection refused"))
            self.policy_reads += 1
            if signature.startswith("batchValidators"):
                return defer.succeed((["0x" + v.hex() for v in self.validators],))
            return defer.succeed((self.threshold,))
        return super().call_function(to, signature, args, returns, block)

    def mine(self):
        for nonce, tx in self.pool.items():
            if self.revert_data(bytes(tx["data"])) is not None:
                self.fail_nonces.add(nonce)
        super().mine()

    def revert_data(self, calldata: bytes) -> bytes | None:
        """What the timelock reverts ``calldata`` with under the current policy, or ``None``."""
        selector = calldata[:4]
        if selector == COMMIT_SELECTOR and self.threshold:
            return MULTISIG_REQUIRED + encode(["address", "uint256"], [DIAMOND, self.threshold])
        if selector == MULTISIG_COMMIT_SELECTOR:
            types = ["address", "uint256", "uint256", "bytes", "address[]", "bytes[]"]
            signers = [bytes.fromhex(a[2:]) for a in decode(types, calldata[4:])[4]]
            for signer in signers:
                if signer not in self.validators:
                    return SIGNER_NOT_VALIDATOR + encode(["address"], [signer])
        return None

    def request(self, method, params):
        if method == "eth_call":
            data = self.revert_data(bytes.fromhex(params[0]["data"][2:]))
            if data is None:
                return defer.succeed("0x")
            return defer.fail(L1RpcError("eth_call", 3, "execution reverted", "0x" + data.hex()))
        return super().request(method, params)

    def configure(self, validators, threshold):
        """The chain admin's ``setBatchVerification``."""
        self.validators, self.threshold = sorted(validators), threshold


class RefreshTestCase(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.l1 = PolicyL1()
        self.events = []
        self.patch(senders, "log", Logger(observer=self.events.append))
        self.ordered = BoundedQueue(16, "ordered")
        self.inbound = BoundedQueue(16, "commit in")
        self.outbound = BoundedQueue(16, "commit out")
        self.reader = L1PolicyReader(CONFIG, self.l1, TIMELOCK, DIAMOND)
        self.collector = SignatureCollector(
            endpoint=None,
            policy=effective_policy(CONFIG, 0, []),
            domain=DOMAIN,
            clock=self.clock,
            request_timeout=5,
            retry_delay=1,
            total_timeout=30,
        )
        self.sender = senders.L1Sender(
            "commit",
            private_key=KEY,
            l1_client=self.l1,
            clock=self.clock,
            diamond_proxy=DIAMOND,
            validator_timelock=TIMELOCK,
            inbound=self.inbound,
            outbound=self.outbound,
            max_fee_per_gas=10 * GWEI,
            max_priority_fee_per_gas=GWEI,
            command_limit=1,
            poll_interval=1.0,
            error_abis=[load_artifact("ValidatorTimelock").abi],
        )
        self.step = SigningCommitFeeder(
            self.ordered, self.inbound, self.collector, chain_address=DIAMOND,
            l1_committed=lambda: self.sender.l1_counter, policy_reader=self.reader,
            clock=self.clock, refresh_seconds=10,
        )  # fmt: skip
        self.sender.revert_recovery = self.step.after_revert
        self.batches = envelopes(4, chain_address=DIAMOND)

    def start(self):
        self.sender.startService()
        self.step.startService()
        self.addCleanup(self.step.stopService)
        self.addCleanup(lambda: self.sender.running and self.sender.stopService())

    def feed(self, *numbers):
        for n in numbers:
            self.successResultOf(self.ordered.put(self.batches[n - 1]))

    def sign_all(self, signers):
        for signer in signers:
            for request in signer.requests():
                signer.sign(request)

    def mine(self, rounds=1):
        for _ in range(rounds):
            self.l1.mine()
            self.clock.advance(1.0)

    def selectors(self):
        return [bytes(t["data"])[:4] for t in self.l1.sent]


class RevertRecoveryTests(RefreshTestCase):
    def test_multisig_required_revert_is_signed_again(self):
        """Started with threshold 0 everywhere: batch 1 goes out plain. The admin sets a 2-of-2
        set before it is mined: it reverts with MultisigRequired, the policy is re-read, the
        ENs sign batch 1 and it is committed through commitBatchesMultisig; batch 2 after it
        too. Nothing is committed twice or skipped, the stage never stops."""
        self.start()
        self.feed(1)
        self.assertEqual(self.selectors(), [COMMIT_SELECTOR])
        self.l1.configure(ADDRESSES[:2], 2)
        signers = [FakeSigner(self.collector, k) for k in KEYS[:2]]
        self.mine()
        self.assertEqual(self.collector.policy, SigningPolicy(2, frozenset(ADDRESSES[:2]), True))
        self.assertEqual(len(self.l1.sent), 1, "re-sent before the signatures")
        self.sign_all(signers)
        self.assertEqual(self.selectors(), [COMMIT_SELECTOR, MULTISIG_COMMIT_SELECTOR])
        self.assertEqual(self.l1.sent[1]["nonce"], 1)
        self.mine()
        self.assertEqual(self.l1.counter, 1)
        self.assertEqual([e.number for e in self.drain(self.outbound)], [1])
        self.feed(2)
        self.sign_all(signers)
        self.mine()
        self.assertEqual(self.l1.counter, 2)
        self.assertEqual(self.selectors()[2:], [MULTISIG_COMMIT_SELECTOR])
        self.assertEqual([e.number for e in self.drain(self.outbound)], [2])
        self.assertIsNone(self.sender.stopped_reason)
        warned = [e for e in self.events if e["log_level"].name == "warn"]
        self.assertIn("MultisigRequired(", warned[-1]["reason"])

    def test_other_revert_still_stops_the_stage(self):
        """A revert that is not MultisigRequired stops the stage as before."""
        self.start()
        self.feed(1)
        self.l1.fail_nonces.add(0)
        self.mine()
        self.assertIn("batches 1..1 failed in L1 block", self.sender.stopped_reason)
        self.assertEqual(self.l1.policy_reads, 0)

    def test_l1_still_without_policy_stops_the_stage(self):
        """MultisigRequired, but re-read L1 has no threshold (say, it was set back): no
        endless re-sending of plain commits; the stage stops naming the revert."""
        self.start()
        self.feed(1)
        self.l1.configure(ADDRESSES[:2], 2)
        self.l1.mine()  # reverts with MultisigRequired; the set is gone again before the replay
        self.l1.configure([], 0)
        self.l1.revert_data = lambda data: (
            MULTISIG_REQUIRED + encode(["address", "uint256"], [DIAMOND, 2])
        )
        self.clock.advance(1.0)
        self.assertIn("MultisigRequired(", self.sender.stopped_reason)
        self.assertEqual(len(self.l1.sent), 1)
        self.assertEqual(self.l1.policy_reads, 2)

    def test_validator_set_changed_under_a_multisig_commit(self):
        """The admin replaces the set {A, B} by {B, C} while a commit signed by A and B is in
        flight: it reverts with SignerNotValidator(A), the policy is re-read and the batch
        signed again by B and C; committed once, the stage runs on."""
        self.l1.configure(ADDRESSES[:2], 2)
        self.clock.advance(10)
        self.start()
        signers = [FakeSigner(self.collector, k) for k in KEYS[:3]]
        self.feed(1)
        self.sign_all(signers[:2])
        self.assertEqual(self.selectors(), [MULTISIG_COMMIT_SELECTOR])
        self.l1.configure(ADDRESSES[1:3], 2)
        self.mine()
        self.sign_all(signers)
        self.assertEqual(self.selectors(), [MULTISIG_COMMIT_SELECTOR] * 2)
        self.mine()
        self.assertEqual(self.l1.counter, 1)
        self.assertIsNone(self.sender.stopped_reason)
        types = ["address", "uint256", "uint256", "bytes", "address[]", "bytes[]"]
        resent = decode(types, bytes(self.l1.sent[1]["data"])[4:])[4]
        self.assertEqual([bytes.fromhex(a[2:]) for a in resent], sorted(ADDRESSES[1:3]))

    def test_policy_changed_while_collecting(self):
        """A re-read replacing the set {A, B} by {B, C} while a batch is being signed, after
        A signed: A's signature does not go to L1; the batch is collected for again and
        committed with B's and C's, no revert."""
        self.l1.configure(ADDRESSES[:2], 2)
        self.clock.advance(10)
        self.start()
        a, b, c = [FakeSigner(self.collector, k) for k in KEYS[:3]]
        self.feed(1)
        (request,) = a.requests()
        a.sign(request)
        self.l1.configure(ADDRESSES[1:3], 2)
        self.successResultOf(defer.ensureDeferred(self.step.refresh_policy()))
        self.sign_all([b])
        self.assertEqual(self.l1.sent, [], "sent with A's signature")
        self.sign_all([a, b, c])
        self.assertEqual(self.selectors(), [MULTISIG_COMMIT_SELECTOR])
        types = ["address", "uint256", "uint256", "bytes", "address[]", "bytes[]"]
        sent = decode(types, bytes(self.l1.sent[0]["data"])[4:])[4]
        self.assertEqual([bytes.fromhex(x[2:]) for x in sent], sorted(ADDRESSES[1:3]))
        self.mine()
        self.assertEqual(self.l1.counter, 1)
        self.assertEqual(self.l1.fail_nonces, set())

    def drain(self, queue):
        out = []
        while len(queue):
            out.append(self.successResultOf(queue.get()))
        return out


class PeriodicRefreshTests(RefreshTestCase):
    def test_policy_read_again_before_a_commit(self):
        """Within ``refresh_seconds`` of the last read a batch uses the policy it has; after,
        the policy is read again first, so a set configured meanwhile signs the next batch
        without any revert."""
        self.start()
        self.feed(1)
        self.mine()
        self.assertEqual(self.l1.policy_reads, 0)
        self.l1.configure(ADDRESSES[:2], 2)
        self.clock.advance(10)
        signers = [FakeSigner(self.collector, k) for k in KEYS[:2]]
        self.feed(2)
        self.assertEqual(self.l1.policy_reads, 2)
        self.assertTrue(self.collector.policy.on_l1)
        self.sign_all(signers)
        self.mine()
        self.assertEqual(self.selectors(), [COMMIT_SELECTOR, MULTISIG_COMMIT_SELECTOR])
        self.assertEqual(self.l1.counter, 2)
        self.assertEqual(self.l1.fail_nonces, set())

    def test_unreachable_l1_keeps_the_policy(self):
        """L1 not answering the re-read: the batch goes on under the policy it had, and the
        next batch tries again."""
        self.start()
        self.clock.advance(10)
        self.l1.unreachable = True
        self.feed(1)
        self.assertEqual(self.selectors(), [COMMIT_SELECTOR])
        self.mine()
        self.l1.unreachable = False
        self.l1.configure(ADDRESSES[:2], 2)
        signers = [FakeSigner(self.collector, k) for k in KEYS[:2]]
        self.feed(2)
        self.sign_all(signers)
        self.mine()
        self.assertEqual(self.selectors(), [COMMIT_SELECTOR, MULTISIG_COMMIT_SELECTOR])

    def test_threshold_zero_is_not_signed(self):
        """Threshold 0 (config and L1): plain commits, no request to a connected signer."""
        self.start()
        signer = FakeSigner(self.collector, KEYS[0])
        self.feed(1, 2)
        self.mine(2)
        self.assertEqual(self.selectors(), [COMMIT_SELECTOR] * 2)
        self.assertEqual(signer.requests(), [])
        self.assertEqual(self.step.signed, [])
