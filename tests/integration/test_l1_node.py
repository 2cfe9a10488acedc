"""The node with its L1: anvil running our contracts from zkos-l1-state.json (issue #7).

* A fresh data directory: block 1 holds the genesis upgrade transaction and the deposits the
  state file carries; the rich account's L2 balance is what was deposited to it.
* ``zkosctl deposit`` arrives with exactly the amount.
* A restart neither repeats nor skips a priority transaction.
* L1 down for 30 s: L2 RPC keeps serving, health reports L1, deposits resume afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from web3 import Web3

from tests.fixtures import REPO_ROOT
from tests.integration.node_process import (
    NodeProcess,
    free_port,
    require_anvil,
    sleep,
)

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
RICH = Account.from_key(KEY).address
L1_STATE = os.path.join(REPO_ROOT, "zkos-l1-state.json")
CAROL = Web3.to_checksum_address("0x00000000000000000000000000000000000ca401")


def zkosctl(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zkos_tw.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def l1_transactions(w3: Web3, up_to: int) -> list[dict]:
    """Every 0x7e / 0x7f transaction of blocks 1..up_to, in order."""
    found = []
    for number in range(1, up_to + 1):
        for tx in w3.eth.get_block(number, full_transactions=True).transactions:
            if tx["type"] in (0x7E, 0x7F):
                found.append(dict(tx, blockNumber=number))
    return found


class L1NodeTests(TestCase):
    timeout = 240

    def setUp(self):
        require_anvil()
        if not os.path.exists(L1_STATE):
            raise AssertionError(f"{L1_STATE} is missing: run `zkosctl l1 build-state`")

    def dev_node(self) -> NodeProcess:
        node = NodeProcess(os.path.abspath(self.mktemp()))
        self.addCleanup(node.cleanup)
        return node

    async def test_genesis_deposit_new_deposit_and_restart(self):
        node = self.dev_node()
        node.start()
        await node.wait_healthy()
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))

        def first_block():
            deadline = time.monotonic() + 30
            while w3.eth.block_number < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            return w3.eth.get_block(1, full_transactions=True), w3.eth.get_balance(RICH)

        block, balance = await deferToThread(first_block)
        types = [tx["type"] for tx in block.transactions]
        self.assertEqual(types[0], 0x7E, types)
        self.assertIn(0x7F, types)
        deposits = [tx for tx in block.transactions if tx["type"] == 0x7F]
        self.assertEqual([int(tx["priorityId"], 16) for tx in deposits], list(range(len(deposits))))
        receipts = [
            await deferToThread(w3.eth.get_transaction_receipt, tx["hash"]) for tx in deposits
        ]
        self.assertEqual([r["status"] for r in receipts], [1] * len(deposits))
        self.assertEqual([len(r["l2ToL1Logs"]) for r in receipts], [1] * len(deposits))
        # The rich account holds what the state file deposited to it, plus the refunds of the
        # deposits it paid for (to_mint - value - fee): nothing else.
        expected = 0
        for tx, receipt in zip(deposits, receipts, strict=True):
            if tx["to"] == RICH:
                expected += tx["value"]
            if tx["refundRecipient"].lower() == RICH.lower():
                fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
                expected += int(tx["toMint"], 16) - tx["value"] - fee
        self.assertEqual(balance, expected)
        self.assertGreaterEqual(balance, 10_000 * 10**18)

        done = await deferToThread(
            zkosctl,
            "deposit",
            "--amount", "1234567",
            "--to", CAROL,
            "--l1-rpc-url", f"http://127.0.0.1:{node.l1_port}",
            "--l2-rpc-url", node.rpc_url,
        )  # fmt: skip
        self.assertEqual(done.returncode, 0, done.stderr + done.stdout)
        self.assertEqual(await deferToThread(w3.eth.get_balance, CAROL), 1234567)

        # An L1 (0x7f) estimate is never under the Mailbox's 200,000 minimum (reference §3.5),
        # and a deposit with exactly that L2 gas limit goes through (#17).
        estimate = await deferToThread(
            w3.eth.estimate_gas, {"type": "0x7f", "from": RICH, "to": CAROL, "value": 5}
        )
        self.assertEqual(estimate, 200_000)
        done = await deferToThread(
            zkosctl,
            "deposit",
            "--amount", "5",
            "--to", CAROL,
            "--l2-gas-limit", "estimate",
            "--json",
            "--l1-rpc-url", f"http://127.0.0.1:{node.l1_port}",
            "--l2-rpc-url", node.rpc_url,
        )  # fmt: skip
        self.assertEqual(done.returncode, 0, done.stderr + done.stdout)
        self.assertIn('"l2_gas_limit": 200000', done.stdout)
        self.assertEqual(await deferToThread(w3.eth.get_balance, CAROL), 1234567 + 5)

        before = await deferToThread(lambda: l1_transactions(w3, w3.eth.block_number))
        node.signal(signal.SIGTERM)
        await node.wait_exit()
        node.start()
        await node.wait_healthy()
        done = await deferToThread(
            zkosctl,
            "deposit",
            "--amount", "7",
            "--to", CAROL,
            "--l1-rpc-url", f"http://127.0.0.1:{node.l1_port}",
            "--l2-rpc-url", node.rpc_url,
        )  # fmt: skip
        self.assertEqual(done.returncode, 0, done.stderr + done.stdout)
        after = await deferToThread(lambda: l1_transactions(w3, w3.eth.block_number))
        self.assertEqual(after[: len(before)], before)
        ids = [int(tx["priorityId"], 16) for tx in after if tx["type"] == 0x7F]
        self.assertEqual(ids, list(range(len(ids))))  # each once, none skipped
        self.assertEqual(len(after), len(before) + 1)
        self.assertEqual(await deferToThread(w3.eth.get_balance, CAROL), 1234567 + 5 + 7)

    async def test_l1_outage(self):
        """anvil away for 30 s: L2 serves on, health names L1, deposits resume afterwards."""
        workdir = os.path.abspath(self.mktemp())
        os.makedirs(workdir)
        state = os.path.join(workdir, "l1-state.json")
        with open(L1_STATE, "rb") as src, open(state, "wb") as dst:
            dst.write(src.read())
        port = free_port()
        anvil_argv = [
            require_anvil(), "--host", "127.0.0.1", "--port", str(port),
            "--state", state, "--state-interval", "1",
        ]  # fmt: skip
        anvil = subprocess.Popen(anvil_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: anvil.poll() is None and anvil.kill())
        node = NodeProcess(
            os.path.join(workdir, "node"),
            ["--general-l1-rpc-url", f"http://127.0.0.1:{port}"],
            dev=False,
        )
        self.addCleanup(node.cleanup)
        node.start()
        await node.wait_healthy()
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        # Healthy comes before block 1 (the rich account's deposit) on a busy machine: the
        # transfer below needs that deposit, so L1 goes away only once it is in.
        for _ in range(300):
            if await deferToThread(w3.eth.get_balance, RICH):
                break
            await sleep(0.1)
        self.assertGreater(await deferToThread(w3.eth.get_balance, RICH), 0, "no deposit")

        anvil.send_signal(signal.SIGTERM)  # anvil writes its state on the way out
        await deferToThread(anvil.wait, 20)
        problems = None
        for _ in range(100):
            answer = await node.health()
            if answer and answer[0] == 503:
                problems = answer[1]["problems"]
                break
            await sleep(0.2)
        self.assertTrue(problems and "L1" in problems[0], problems)

        def l2_works():
            nonce = w3.eth.get_transaction_count(RICH)
            signed = Account.from_key(KEY).sign_transaction(
                {"to": CAROL, "value": 3, "gas": 21_000, "nonce": nonce, "chainId": 270,
                 "maxFeePerGas": 2000, "maxPriorityFeePerGas": 1}
            )  # fmt: skip
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
            return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)

        self.assertEqual((await deferToThread(l2_works)).status, 1)
        await sleep(30)
        self.assertEqual((await node.health())[0], 503)

        anvil = subprocess.Popen(anvil_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: anvil.poll() is None and anvil.kill())
        for _ in range(150):
            answer = await node.health()
            if answer and answer[0] == 200:
                break
            await sleep(0.2)
        self.assertEqual(answer[0], 200, answer)
        done = await deferToThread(
            zkosctl,
            "deposit",
            "--amount", "11",
            "--to", CAROL,
            "--l1-rpc-url", f"http://127.0.0.1:{port}",
            "--l2-rpc-url", node.rpc_url,
        )  # fmt: skip
        self.assertEqual(done.returncode, 0, done.stderr + done.stdout)
        self.assertEqual(await deferToThread(w3.eth.get_balance, CAROL), 3 + 11)
