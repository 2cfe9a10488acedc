"""``discover_l1_state`` against an in-memory L1 (reference §7.1)."""

from twisted.trial.unittest import SynchronousTestCase

from tests.l1.helpers import FakeL1, run
from zkos_tw.l1.discovery import L1DiscoveryError, discover_l1_state


class DiscoveryTests(SynchronousTestCase):
    def test_discovers_everything(self):
        """Diamond proxy, CTM, timelock, batch counters and the DA mode come from L1."""
        chain = FakeL1(chain_ids=(9, 270))
        chain.pricing_mode = 1
        client, _ = chain.client()
        state = run(client, discover_l1_state(client, FakeL1.BRIDGEHUB, 270))
        self.assertEqual(state.diamond_proxy, FakeL1.DIAMOND)
        self.assertEqual(state.chain_type_manager, FakeL1.CTM)
        self.assertEqual(state.validator_timelock, FakeL1.TIMELOCK)
        self.assertEqual(
            (state.last_committed_batch, state.last_verified_batch, state.last_executed_batch),
            (3, 2, 1),
        )
        self.assertEqual(state.da_mode, "Validium")
        self.assertEqual(state.as_json()["diamond_proxy"], "0x" + FakeL1.DIAMOND.hex())

    def test_chain_not_registered(self):
        """The reference's error text when the chain id is not in the Bridgehub."""
        client, _ = FakeL1(chain_ids=(9,)).client()
        d = discover_l1_state(client, FakeL1.BRIDGEHUB, 270)
        e = self.assertRaises(L1DiscoveryError, run, client, d)
        self.assertEqual(str(e), "chain ID 270 is not registered on L1")

    def test_no_bridgehub(self):
        """A bridgehub address without code says so."""
        client, _ = FakeL1().client()
        d = discover_l1_state(client, b"\x01" * 20, 270)
        e = self.assertRaises(L1DiscoveryError, run, client, d)
        self.assertIn("no contract at the bridgehub address 0x0101", str(e))

    def test_unknown_pricing_mode(self):
        """A pricing mode other than 0/1 is refused."""
        chain = FakeL1()
        chain.pricing_mode = 7
        client, _ = chain.client()
        d = discover_l1_state(client, FakeL1.BRIDGEHUB, 270)
        e = self.assertRaises(L1DiscoveryError, run, client, d)
        self.assertIn("unknown pubdata pricing mode 7", str(e))
