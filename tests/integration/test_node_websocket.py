"""A real node's WebSocket endpoint (same port as HTTP) used through web3.py's WebSocketProvider."""

from __future__ import annotations

import asyncio
import os

from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from web3 import AsyncWeb3, Web3
from web3.providers.persistent import WebSocketProvider

from tests.integration.node_process import NodeProcess

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
BOB = "0x5A67EE02274D9Ec050d412b96fE810Be4D71e7A0"


def transfer(nonce: int) -> bytes:
    tx = {
        "to": BOB,
        "value": 1,
        "gas": 21_000,
        "nonce": nonce,
        "chainId": 270,
        "maxFeePerGas": 2000,
        "maxPriorityFeePerGas": 1,
    }
    return bytes(Account.from_key(KEY).sign_transaction(tx).raw_transaction)


async def subscribe_and_send(ws_url: str, http_url: str, count: int) -> tuple[list, list]:
    """Subscribe to newHeads, send ``count`` transactions one block apart, collect the heads."""
    http = Web3(Web3.HTTPProvider(http_url))
    heads = []
    async with AsyncWeb3(WebSocketProvider(ws_url)) as w3:
        subscription = await w3.eth.subscribe("newHeads")
        assert subscription.startswith("0x"), subscription
        receipts = []
        for nonce in range(count):
            tx_hash = await w3.eth.send_raw_transaction(transfer(nonce))
            async for message in w3.socket.process_subscriptions():
                heads.append(message["result"])
                break
            receipts.append(await w3.eth.get_transaction_receipt(tx_hash))
        assert await w3.eth.unsubscribe(subscription) is True
    blocks = [http.eth.get_block(r["blockNumber"]) for r in receipts]
    return heads, blocks


class NodeWebSocketTests(TestCase):
    timeout = 120

    async def test_new_heads(self):
        """Each sealed block arrives as a newHeads notification equal to the block over HTTP."""
        node = NodeProcess(
            os.path.abspath(self.mktemp()),
        )
        self.addCleanup(node.cleanup)
        node.start()
        await node.wait_healthy()
        ws_url = node.rpc_url.replace("http://", "ws://")
        heads, blocks = await deferToThread(
            asyncio.run, subscribe_and_send(ws_url, node.rpc_url, 3)
        )
        self.assertEqual([h["number"] for h in heads], [2, 3, 4])  # block 1: the L1 genesis txs
        for head, block in zip(heads, blocks, strict=True):
            self.assertEqual(head["hash"], block["hash"])
            self.assertEqual(head["parentHash"], block["parentHash"])
            self.assertEqual(head["timestamp"], block["timestamp"])
            self.assertEqual(head["gasUsed"], 21_000)
            self.assertNotIn("transactions", head)
