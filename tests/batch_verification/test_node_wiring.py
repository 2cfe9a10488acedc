"""``start_signature_collector`` in ``zkos_tw.node``: the policy read from L1 at start, and a threshold no signer set can meet is a start-up error."""

from __future__ import annotations

from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.batch_verification.collector import SignatureCollector
from zkos_tw.config import load_config
from zkos_tw.l1.discovery import L1State
from zkos_tw.launcher import StartupError
from zkos_tw.node import start_batch_signer, start_signature_collector
from zkos_tw.status.node_status import NodeStatus

VALIDATORS = [b"\x0a" * 20, b"\x0b" * 20]


class FakeL1Client:
    """Answers the two timelock views and eth_chainId like an L1 with the given policy."""

    def __init__(self, threshold, validators):
        self.threshold, self.validators = threshold, validators
        self.asked = []

    def call_function(self, to, signature, args, returns):
        self.asked.append((to, signature, args))
        if signature.startswith("batchValidators"):
            return defer.succeed((["0x" + v.hex() for v in self.validators],))
        return defer.succeed((self.threshold,))

    def chain_id(self):
        return defer.succeed(31337)


class L1:
    def __init__(self, client):
        self.client = client
        self.state = L1State(
            270, b"\x01" * 20, b"\xd1" * 20, b"\x02" * 20, b"\x77" * 20, 0, 0, 0, 0
        )


class WiringTests(SynchronousTestCase):
    def start(self, client, **settings):
        config = load_config({"batch_verification_server_enabled": "true", **settings})
        status = NodeStatus("main_node")
        node = MultiService()
        d = defer.ensureDeferred(
            start_signature_collector(config, MemoryReactorClock(), node, L1(client), status, None)
        )
        return d, node, status

    def test_l1_policy(self):
        """L1 has 2 of 2: a collector under the node, on L1's set, with its health section."""
        client = FakeL1Client(2, VALIDATORS)
        d, node, status = self.start(client)
        collector = self.successResultOf(d)
        self.assertIsInstance(collector, SignatureCollector)
        self.assertIn(collector, list(node))
        self.assertEqual((collector.policy.threshold, collector.policy.on_l1), (2, True))
        self.assertEqual(collector.policy.signers, set(VALIDATORS))
        self.assertEqual(collector.domain.chain_id, 31337)
        self.assertEqual(collector.domain.verifying_contract, b"\x77" * 20)
        self.assertEqual(client.asked[0][0], b"\x77" * 20)
        self.assertEqual(client.asked[0][2], ["0x" + "d1" * 20])
        self.assertEqual(status.sections()["batch_verification"]["waiting"], None)

    def test_threshold_zero_everywhere(self):
        """Threshold 0 in config and nothing on L1: the collector listens all the same (the
        signing step re-reads L1 and follows a validator set configured later), threshold 0."""
        d, node, _ = self.start(FakeL1Client(0, []), batch_verification_threshold="0")
        collector = self.successResultOf(d)
        self.assertEqual(list(node), [collector])
        self.assertEqual((collector.policy.threshold, collector.policy.on_l1), (0, False))

    def test_threshold_without_enough_signers(self):
        """Config threshold 1, no L1 set, no accepted signers: one start-up line."""
        d, _, _ = self.start(FakeL1Client(0, []))
        error = self.failureResultOf(d, StartupError).value
        self.assertEqual(
            str(error),
            "batch verification threshold 1 but only 0 signers (config): set "
            "batch_verification_accepted_signers or a validator set on L1",
        )

    def test_config_policy(self):
        """No L1 set: the accepted signers, commits stay plain."""
        d, _, _ = self.start(
            FakeL1Client(0, []), batch_verification_accepted_signers="0x" + "0c" * 20
        )
        collector = self.successResultOf(d)
        self.assertEqual(
            (collector.policy.on_l1, collector.policy.signers), (False, {b"\x0c" * 20})
        )


class SignerWiringTests(SynchronousTestCase):
    def test_signing_key_required(self):
        """An EN with client_enabled and no signing key does not start, in one line."""
        config = load_config({"batch_verification_client_enabled": "true"})
        d = defer.ensureDeferred(
            start_batch_signer(
                config, MemoryReactorClock(), MultiService(), None, L1(FakeL1Client(0, [])),
                NodeStatus("external_node"), None,
            )
        )  # fmt: skip
        error = self.failureResultOf(d, StartupError).value
        self.assertEqual(
            str(error), "batch_verification_client_enabled needs batch_verification_signing_key"
        )
