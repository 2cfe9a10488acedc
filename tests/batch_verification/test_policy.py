"""The effective signing policy: L1's when the timelock has one, else the config's."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.batch_verification.policy import effective_policy, read_l1_policy
from zkos_tw.config import BatchVerificationConfig

A, B, C = b"\x0a" * 20, b"\x0b" * 20, b"\x0c" * 20


class PolicyTests(SynchronousTestCase):
    def config(self, threshold=1, signers=()):
        return BatchVerificationConfig(threshold=threshold, accepted_signers=signers)

    def test_l1_policy_wins(self):
        """L1 has a set: its validators, max(config, L1) threshold, multisig commits."""
        policy = effective_policy(self.config(1, ("0x" + C.hex(),)), 2, [A, B])
        self.assertEqual((policy.threshold, policy.signers, policy.on_l1), (2, {A, B}, True))
        self.assertEqual(effective_policy(self.config(3), 2, [A, B, C]).threshold, 3)
        self.assertEqual(policy.as_json()["source"], "L1")

    def test_config_when_l1_has_none(self):
        """No set and threshold 0 on L1: the config's signers and threshold, plain commits."""
        policy = effective_policy(self.config(1, ("0x" + C.hex().upper(),)), 0, [])
        self.assertEqual((policy.threshold, policy.signers, policy.on_l1), (1, {C}, False))

    def test_read_l1_policy(self):
        """The two timelock views are asked for the chain address."""
        calls = []

        class Client:
            def call_function(self, to, signature, args, returns):
                calls.append((to, signature, args))
                if signature.startswith("batchValidators"):
                    return defer.succeed((["0x" + A.hex(), "0x" + B.hex()],))
                return defer.succeed((2,))

        d = defer.ensureDeferred(read_l1_policy(Client(), C, B))
        self.assertEqual(self.successResultOf(d), (2, [A, B]))
        self.assertEqual(
            [c[1] for c in calls],
            ["batchVerificationThreshold(address)", "batchValidators(address)"],
        )
        self.assertEqual(calls[0][2], ["0x" + B.hex()])
