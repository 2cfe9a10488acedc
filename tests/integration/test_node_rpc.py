"""A real ``twistd zkos`` node with a real LMDB directory, used through web3.py and cast."""

import os
import subprocess

from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from web3 import Web3

from tests.fixtures import REPO_ROOT
from tests.integration.node_process import NodeProcess

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
BOB = "0x5A67EE02274D9Ec050d412b96fE810Be4D71e7A0"


def cast_path():
    tools = os.environ.get("ZKOS_TOOLS_DIR") or os.path.join(REPO_ROOT, ".tools")
    return os.path.join(tools, "node_modules", ".bin", "cast")


class NodeRpcTests(TestCase):
    """Transactions through the JSON-RPC of a running node (dev genesis: a funded account)."""

    timeout = 120

    async def start(self) -> tuple[NodeProcess, Web3]:
        node = NodeProcess(
            os.path.abspath(self.mktemp()),
        )
        self.addCleanup(node.cleanup)
        node.start()
        await node.wait_healthy()
        return node, Web3(Web3.HTTPProvider(node.rpc_url))

    async def test_web3_transfer(self):
        """web3.py: chain id, balance, send, receipt, block, estimate — as Ethereum tools expect."""
        node, w3 = await self.start()

        def scenario():
            account = Account.from_key(KEY)
            assert w3.eth.chain_id == 270
            assert w3.eth.get_balance(account.address) >= 10_000 * 10**18  # deposited on L1
            nonce = w3.eth.get_transaction_count(account.address)
            signed = account.sign_transaction(
                {
                    "to": BOB,
                    "value": 12345,
                    "gas": 21000,
                    "nonce": nonce,
                    "chainId": 270,
                    "maxFeePerGas": 2000,
                    "maxPriorityFeePerGas": 1,
                }
            )
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=20, poll_latency=0.1)
            block = w3.eth.get_block(receipt.blockNumber, full_transactions=True)
            estimate = w3.eth.estimate_gas({"from": account.address, "to": BOB, "value": 1})
            return receipt, block, w3.eth.get_balance(BOB), estimate, tx_hash

        receipt, block, bob, estimate, tx_hash = await deferToThread(scenario)
        self.assertEqual(receipt.status, 1)
        self.assertEqual(receipt.gasUsed, 21000)
        self.assertEqual(receipt.effectiveGasPrice, 1001)
        self.assertEqual(bob, 12345)
        self.assertEqual(block.transactions[0].hash, tx_hash)
        self.assertEqual(estimate, 21000)
        health = await node.health()
        self.assertEqual(health[1]["last_block"]["number"], receipt.blockNumber)

    async def test_cast_send_and_bad_input(self):
        """cast send and cast receipt work; a wrong chain id is refused and the node serves on."""
        node, w3 = await self.start()
        result = await deferToThread(
            subprocess.run,
            [
                cast_path(),
                "send",
                "--private-key",
                KEY,
                "--rpc-url",
                node.rpc_url,
                BOB,
                "--value",
                "100",
                "--json",
            ],
            capture_output=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        output = (result.stdout + result.stderr).decode()
        # cast prints the receipt as JSON when stdout is not a terminal, as text otherwise.
        self.assertRegex(output, r"\"status\":\"0x1\"|status\s+1 \(success\)", output)

        def wrong_chain():
            account = Account.from_key(KEY)
            signed = account.sign_transaction(
                {
                    "to": BOB,
                    "value": 1,
                    "gas": 21000,
                    "nonce": 1,
                    "chainId": 1,
                    "maxFeePerGas": 2000,
                    "maxPriorityFeePerGas": 0,
                }
            )
            try:
                w3.eth.send_raw_transaction(signed.raw_transaction)
            except Exception as e:  # noqa: BLE001 - web3 raises its own error types
                return str(e)
            return None

        error = await deferToThread(wrong_chain)
        self.assertIsNotNone(error)
        self.assertIn("chain", error.lower())
        self.assertEqual(await deferToThread(lambda: w3.eth.get_balance(BOB)), 100)
