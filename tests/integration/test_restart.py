"""Restart a real node on its LMDB directory: after SIGTERM, and after SIGKILL under load.

Every block that was served through RPC before the stop is still there with the same hash, the
balances at those blocks are the same, and block production continues from the next number.
"""

from __future__ import annotations

import os
import signal
import threading

from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from web3 import Web3

from tests.integration.node_process import NodeProcess, sleep

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
RICH = Account.from_key(KEY)
RECIPIENTS = [Account.from_key((i + 1).to_bytes(32, "big")).address for i in range(4)]


def transfer(nonce: int, to: str, value: int = 1) -> bytes:
    tx = {
        "to": to,
        "value": value,
        "gas": 21_000,
        "nonce": nonce,
        "chainId": 270,
        "maxFeePerGas": 2000,
        "maxPriorityFeePerGas": 1,
    }
    return bytes(RICH.sign_transaction(tx).raw_transaction)


def served_chain(w3: Web3, up_to: int) -> dict[int, tuple[bytes, dict[str, int]]]:
    """number -> (hash, balances of the recipients at that block), as the RPC serves them."""
    chain = {}
    for number in range(up_to + 1):
        block = w3.eth.get_block(number)
        balances = {a: w3.eth.get_balance(a, block_identifier=number) for a in RECIPIENTS}
        chain[number] = (bytes(block.hash), balances)
    return chain


class RestartTests(TestCase):
    timeout = 180

    def node(self) -> NodeProcess:
        node = NodeProcess(
            os.path.abspath(self.mktemp()),
        )
        self.addCleanup(node.cleanup)
        return node

    async def check_after_restart(self, node: NodeProcess, served: dict) -> None:
        """Same blocks, same balances, and the next transaction lands in the next block."""
        node.start()
        await node.wait_healthy()
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))

        def check():
            last = w3.eth.block_number
            again = served_chain(w3, max(served))
            nonce = w3.eth.get_transaction_count(RICH.address)
            tx_hash = w3.eth.send_raw_transaction(transfer(nonce, RECIPIENTS[0], 7))
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)
            return last, again, receipt

        last, again, receipt = await deferToThread(check)
        self.assertGreaterEqual(last, max(served))
        for number, (block_hash, balances) in served.items():
            self.assertEqual(again[number], (block_hash, balances), f"block {number}")
        self.assertEqual(receipt.status, 1)
        self.assertEqual(receipt.blockNumber, last + 1)

    async def test_sigterm(self):
        """A clean stop: every block and balance survives, production goes on."""
        node = self.node()
        node.start()
        await node.wait_healthy()
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))

        def load():
            for nonce in range(12):
                tx_hash = w3.eth.send_raw_transaction(
                    transfer(nonce, RECIPIENTS[nonce % 4], nonce + 1)
                )
                if nonce % 3 == 2:  # several blocks, not one
                    w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)
            return served_chain(w3, w3.eth.block_number)

        served = await deferToThread(load)
        self.assertGreaterEqual(max(served), 4)
        node.signal(signal.SIGTERM)
        # twistd shuts down cleanly, then re-raises the signal so the exit status reports it.
        self.assertIn(await node.wait_exit(), (0, -signal.SIGTERM), node.output())
        self.assertIn("Server Shut Down", node.output())
        await self.check_after_restart(node, served)

    async def test_sigkill_under_load(self):
        """SIGKILL while transactions stream in: nothing that was served is lost or changed."""
        node = self.node()
        node.start()
        await node.wait_healthy()
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        stop = threading.Event()
        served: dict = {}
        errors: list = []

        def submit():
            nonce = 0
            while not stop.is_set():
                try:
                    w3.eth.send_raw_transaction(transfer(nonce, RECIPIENTS[nonce % 4]))
                    nonce += 1
                except Exception as e:  # noqa: BLE001 - the node dies under us by design
                    errors.append(e)
                    return

        def observe():
            # Record each block as the RPC serves it, while the load runs.
            seen = -1
            while not stop.is_set():
                try:
                    latest = w3.eth.block_number
                    for number in range(seen + 1, latest + 1):
                        served.update(served_chain_one(w3, number))
                        seen = number
                except Exception:  # noqa: BLE001 - connection refused once killed
                    return

        submitter = threading.Thread(target=submit, daemon=True)
        observer = threading.Thread(target=observe, daemon=True)
        submitter.start()
        observer.start()
        while len(served) < 6:
            await sleep(0.1)
            self.assertFalse(errors, errors)
        node.signal(signal.SIGKILL)
        await node.wait_exit()
        stop.set()
        await deferToThread(submitter.join, 10)
        await deferToThread(observer.join, 10)
        await self.check_after_restart(node, dict(served))


def served_chain_one(w3: Web3, number: int) -> dict:
    block = w3.eth.get_block(number)
    balances = {a: w3.eth.get_balance(a, block_identifier=number) for a in RECIPIENTS}
    return {number: (bytes(block.hash), balances)}


class RestartWithWorkersTests(RestartTests):
    """The same stops and restarts with the RPC served by two worker processes: a killed node
    takes its workers with it (their link closes), and the restarted node's workers serve
    every block that was served before."""

    def node(self) -> NodeProcess:
        node = NodeProcess(os.path.abspath(self.mktemp()), ["--rpc-workers", "2"])
        self.addCleanup(node.cleanup)
        return node
