"""Integration: the node's L1 side against anvil loaded with our ``zkos-l1-state.json``.

Real anvil, real sockets, the real ``zkosctl deposit`` process: discovery finds chain 270, the
genesis upgrade tx is found, the watcher delivers the rich account's deposit and then a new
deposit whose L2 hash is the one ``zkosctl deposit`` printed; all of them execute on the state of
our ``genesis.json`` with the mint / fee / refund rules (the upgrade tx succeeds, the recipient
gets exactly the amount).
"""

from __future__ import annotations

import os
import re
import sys
import time

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

from tests.fixtures import REPO_ROOT
from tests.integration.node_process import sleep
from tests.l1.test_anvil import AnvilProcess
from zkos_tw.config import GenesisConfig
from zkos_tw.execution.l1_transactions import (
    BOOTLOADER_FORMAL_ADDRESS,
    PRIORITY_TX_TYPE,
    apply_l1_transaction,
)
from zkos_tw.execution.message import BlockEnvironment
from zkos_tw.genesis import genesis_writes, load_genesis
from zkos_tw.l1.client import create_l1_client
from zkos_tw.l1.discovery import discover_l1_state
from zkos_tw.l1.queue import PriorityTxQueue
from zkos_tw.l1.watcher import PriorityTxWatcher, fetch_genesis_upgrade
from zkos_tw.state.view import FlatState
from zkos_tw.testing.memory_flat_state import MemoryFlatState, MemoryPreimages

STATE_FILE = os.path.join(REPO_ROOT, "zkos-l1-state.json")
RICH = bytes.fromhex("36615Cf349d7F6344891B1e7CA7C72883F5dc049")
RECIPIENT = "0x5A67EE02274D9Ec050d412b96fE810Be4D71e7A0"


async def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await sleep(0.05)


class L1StateTests(TestCase):
    timeout = 180

    async def test_discovery_upgrade_watcher_deposit_and_execution(self):
        if not os.path.exists(STATE_FILE):
            raise SkipTest(f"{STATE_FILE} not built yet (zkosctl l1 build-state)")
        anvil = AnvilProcess(STATE_FILE)
        self.addCleanup(anvil.stop)
        client = create_l1_client(anvil.url, reactor, timeout=5.0)
        self.addCleanup(client.close)
        await anvil.start(client)

        bridgehub = bytes.fromhex(GenesisConfig().bridgehub_address[2:])
        state = await discover_l1_state(client, bridgehub, 270)
        self.assertEqual(state.da_mode, "Rollup")
        self.assertEqual(state.last_committed_batch, 0)

        upgrade = await fetch_genesis_upgrade(client, state.diamond_proxy)
        self.assertEqual(upgrade.tx.tx_type, 0x7E)
        self.assertEqual(upgrade.tx.initiator, (0x8007).to_bytes(20, "big"))
        self.assertEqual(upgrade.tx.to, (0x10001).to_bytes(20, "big"))

        queue = PriorityTxQueue(capacity=10)
        fatal = []
        watcher = PriorityTxWatcher(
            client, state.diamond_proxy, queue, clock=reactor, on_fatal=fatal.append
        )
        watcher.startService()
        self.addCleanup(watcher.stopService)
        await wait_for(lambda: len(queue) >= 1, 30, "the rich account's deposit")
        [rich_deposit] = queue.take_ready()
        self.assertEqual((rich_deposit.nonce, rich_deposit.tx_type), (0, PRIORITY_TX_TYPE))
        self.assertEqual(rich_deposit.to, RICH)
        self.assertGreaterEqual(rich_deposit.value, 10_000 * 10**18)

        # The installed zkosctl, as a user runs it (tox installs the package).
        zkosctl = os.path.join(os.path.dirname(sys.executable), "zkosctl")
        if not os.path.exists(zkosctl):
            raise SkipTest(f"no zkosctl next to {sys.executable}: pip install . first")
        out, err, code = await getProcessOutputAndValue(
            zkosctl,
            [
                "deposit",
                "--amount",
                "2.5eth",
                "--to",
                RECIPIENT,
                "--l1-rpc-url",
                anvil.url,
                "--no-wait",
            ],
            env=dict(os.environ),
            reactor=reactor,
        )
        self.assertEqual(code, 0, err.decode())
        printed = out.decode()
        l2_hash = re.search(r"L2 tx hash: (0x[0-9a-f]{64})", printed).group(1)
        self.assertRegex(printed, r"L1 tx hash: 0x[0-9a-f]{64}")
        seen_after = time.monotonic()
        await wait_for(lambda: len(queue) >= 1, 30, "the new deposit")
        latency = time.monotonic() - seen_after
        [new_deposit] = queue.take_ready()
        self.assertEqual("0x" + new_deposit.hash.hex(), l2_hash)
        self.assertEqual(new_deposit.nonce, 1)
        self.assertEqual(new_deposit.value, 25 * 10**17)
        self.assertLess(latency, 5.0)
        self.assertEqual(fatal, [])
        self.assertTrue(client.health.reachable)

        # Execute on our genesis state, in block-1 order: upgrade, then the deposits.
        writes, preimages = genesis_writes(load_genesis(os.path.join(REPO_ROOT, "genesis.json")))
        flat = MemoryFlatState()
        flat.write_block(0, writes)
        l2 = FlatState(flat.at(0), MemoryPreimages(preimages))
        block = BlockEnvironment(
            l2, coinbase=bytes(20), number=1, gas_limit=100_000_000, timestamp=1, chain_id=270
        )
        used, fees = 0, []
        for index, tx in enumerate((upgrade.tx, rich_deposit, new_deposit)):
            result = apply_l1_transaction(block, tx, used, index)
            self.assertTrue(result.succeeded, f"tx {index}: {result.receipt.error}")
            self.assertEqual(result.l2_to_l1_log.key, tx.hash)
            used = result.cumulative_gas_used
            fees.append(result.fee)
        recipient = bytes.fromhex(RECIPIENT[2:])
        self.assertEqual(l2.get_balance(recipient), 25 * 10**17)
        self.assertEqual(l2.get_balance(BOOTLOADER_FORMAL_ADDRESS), sum(fees))
        # The rich account deposited to itself and pays for the new deposit (refunds to it):
        # it holds both to_mints minus the two fees and the 2.5 ETH sent on.
        self.assertEqual(
            (rich_deposit.refund_recipient, new_deposit.refund_recipient), (RICH, RICH)
        )
        expected = rich_deposit.to_mint - fees[1] + new_deposit.to_mint - fees[2] - 25 * 10**17
        self.assertEqual(l2.get_balance(RICH), expected)
