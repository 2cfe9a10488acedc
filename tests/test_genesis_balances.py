"""Tests for the dev-only ``balances`` extension of genesis.json and the shipped dev-genesis.json."""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT
from zkos_tw.genesis import GenesisError, compute_genesis, load_genesis, parse_genesis

RICH = bytes.fromhex("36615Cf349d7F6344891B1e7CA7C72883F5dc049")


class DevGenesisTests(SynchronousTestCase):
    """dev-genesis.json: our genesis plus a funded rich account."""

    def test_reproduces_its_root(self):
        """Its genesis_root is the state commitment it computes to."""
        genesis = load_genesis(os.path.join(REPO_ROOT, "dev-genesis.json"))
        self.assertEqual(compute_genesis(genesis).state_commitment, genesis.genesis_root)
        self.assertEqual(genesis.balances, ((RICH, 10**22),))

    def test_same_contracts_as_genesis(self):
        """It carries exactly the contracts of genesis.json (so it cannot go stale)."""
        with open(os.path.join(REPO_ROOT, "genesis.json")) as f:
            main = json.load(f)
        with open(os.path.join(REPO_ROOT, "dev-genesis.json")) as f:
            dev = json.load(f)
        self.assertEqual(dev["initial_contracts"], main["initial_contracts"])
        self.assertEqual(dev["additional_storage"], main["additional_storage"])

    def test_bad_balances(self):
        """Malformed balance entries are refused with a line naming them."""
        base = {"initial_contracts": [], "additional_storage": [], "execution_version": 3}
        for balances, expected in (
            ([["0x12", "0x1"]], "balances[0] address"),
            ([["0x" + "11" * 20, "12"]], "hex quantity"),
            ([["0x" + "11" * 20, hex(2**256)]], "256 bits"),
            ([["0x" + "11" * 20]], "[address, wei]"),
        ):
            with self.assertRaises(GenesisError) as ctx:
                parse_genesis(dict(base, balances=balances))
            self.assertIn(expected, str(ctx.exception))
