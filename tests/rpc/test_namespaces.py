"""``net_``, ``web3_``, ``zks_`` and the pub/sub methods (through the dispatcher with a stand-in
WebSocket connection)."""

from __future__ import annotations

import json

from eth_utils import keccak

import zkos_tw

from .helpers import ALICE, BOB, TOKEN, TRANSFER, FakeConnection, RpcTestCase, hx


class NetWeb3ZksTests(RpcTestCase):
    """The small namespaces."""

    async def test_net(self):
        """``net_version`` is the chain id in hex (reference quirk); listening; no peers."""
        self.assertEqual(await self.result("net_version"), "0x10e")
        self.assertIs(await self.result("net_listening"), True)
        self.assertEqual(await self.result("net_peerCount"), "0x0")

    async def test_web3(self):
        """Client version ``zkos-tw/v<version>``; keccak-256 of the given bytes."""
        self.assertEqual(await self.result("web3_clientVersion"), f"zkos-tw/v{zkos_tw.__version__}")
        self.assertEqual(await self.result("web3_sha3", "0x68656c6c6f"), hx(keccak(b"hello")))
        self.assertEqual(await self.result("web3_sha3", "0x"), hx(keccak(b"")))
        await self.assert_error(-32602, "Invalid params", "web3_sha3", "hello")

    async def test_zks(self):
        """The Bridgehub address and the genesis input."""
        self.assertEqual(
            await self.result("zks_getBridgehubContract"),
            "0x8bd76a67b984e8f0b902a82220a90fc45d9738a9",
        )
        genesis = await self.result("zks_getGenesis")
        self.assertEqual(
            set(genesis),
            {"initial_contracts", "additional_storage", "execution_version", "genesis_root"},
        )

    async def test_batch_methods_without_batches(self):
        """A backend that seals no batches: batch 0 only, nothing provable yet (the methods
        over real batches: ``tests.rpc.test_zks_batches``)."""
        self.assertEqual(await self.result("zks_getL1BatchNumber"), "0x0")
        self.assertIsNone(await self.result("zks_getL1BatchDetails", 1))
        _, tx = self.add_transfer_block()
        self.assertIsNone(await self.result("zks_getL2ToL1LogProof", hx(b"\x01" * 32)))
        await self.assert_error(
            -32603,
            "transaction has not been included in an L1 batch yet",
            "zks_getL2ToL1LogProof",
            hx(tx["hash"]),
            0,
        )


class PubSubTests(RpcTestCase):
    """``eth_subscribe`` / ``eth_unsubscribe`` with a stand-in connection."""

    def setUp(self):
        super().setUp()
        self.connection = FakeConnection()

    async def ws(self, method, *params):
        """Call over the stand-in connection; return the response object."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        return json.loads(await self.dispatcher.handle(body.encode(), self.connection))

    async def subscribe(self, *params):
        response = await self.ws("eth_subscribe", *params)
        self.assertNotIn("error", response, response)
        return response["result"]

    async def test_not_over_http(self):
        """Subscriptions need a WebSocket: over HTTP they are unknown methods."""
        await self.assert_error(-32601, "Method not found", "eth_subscribe", "newHeads")
        await self.assert_error(-32601, "Method not found", "eth_unsubscribe", "0x1")

    async def test_new_heads(self):
        """Each new block's header (with hash and size, without transactions)."""
        sid = await self.subscribe("newHeads")
        self.assertRegex(sid, r"^0x[0-9a-f]+$")
        block, _ = self.add_transfer_block()
        [(got_id, header)] = self.connection.notifications
        self.assertEqual(got_id, sid)
        self.assertEqual(header["hash"], block["hash"])
        self.assertIn("size", header)
        self.assertNotIn("transactions", header)

    async def test_logs(self):
        """Matching logs of new blocks, one notification each; the range is ignored."""
        sid = await self.subscribe("logs", {"address": hx(TOKEN), "fromBlock": "0x100"})
        other = await self.subscribe("logs", {"topics": [hx(b"\x01" * 32)]})
        everything = await self.subscribe("logs")
        self.add_transfer_block(extra_logs=[(BOB, [], b"")])
        got = [(s, log["address"]) for s, log in self.connection.notifications]
        self.assertIn((sid, hx(TOKEN)), got)
        self.assertNotIn((sid, hx(BOB)), got)
        self.assertEqual([a for s, a in got if s == everything], [hx(TOKEN), hx(BOB)])
        self.assertFalse([s for s, _ in got if s == other])
        self.assertEqual(self.connection.notifications[0][1]["topics"][0], hx(TRANSFER))

    async def test_pending_transactions(self):
        """Hashes by default (and with ``false``); full objects with ``true``."""
        hashes = await self.subscribe("newPendingTransactions")
        also_hashes = await self.subscribe("newPendingTransactions", False)
        full = await self.subscribe("newPendingTransactions", True)
        tx_hash = await self.result("eth_sendRawTransaction", "0x0201")
        by_id = dict(self.connection.notifications)
        self.assertEqual(by_id[hashes], tx_hash)
        self.assertEqual(by_id[also_hashes], tx_hash)
        self.assertEqual(by_id[full]["hash"], tx_hash)
        self.assertIsNone(by_id[full]["blockNumber"])

    async def test_param_errors(self):
        """Params that do not fit the kind get the reference's messages."""
        cases = [
            (
                ("newHeads", {}),
                -32602,
                "invalid params: specified for head subscription (expected none)",
            ),
            (
                ("logs", True),
                -32602,
                "invalid params: boolean (transaction fullness) specified for log subscription",
            ),
            (
                ("newPendingTransactions", {"address": hx(ALICE)}),
                -32602,
                "invalid params: log filter specified for pending transaction subscription",
            ),
            (("syncing",), -32603, "syncing subscriptions are not supported yet"),
            (("blocks",), -32602, "Invalid params"),
        ]
        for params, code, message in cases:
            response = await self.ws("eth_subscribe", *params)
            self.assertEqual(
                (response["error"]["code"], response["error"]["message"]), (code, message), params
            )
        self.assertEqual(self.connection.subscriptions, {})

    async def test_unsubscribe(self):
        """``true`` once, then ``false``; no more notifications afterwards."""
        sid = await self.subscribe("newHeads")
        self.assertIs((await self.ws("eth_unsubscribe", sid))["result"], True)
        self.assertIs((await self.ws("eth_unsubscribe", sid))["result"], False)
        self.add_transfer_block()
        self.assertEqual(self.connection.notifications, [])
        self.assertEqual((await self.ws("eth_unsubscribe", 5))["error"]["code"], -32602)
