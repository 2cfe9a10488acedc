"""``eth_getLogs`` (range and result limits) and the poll-based filters with their expiry."""

from __future__ import annotations

from zkos_tw.config import RpcConfig

from .helpers import BOB, TOKEN, TRANSFER, RpcTestCase, hx

OTHER = bytes.fromhex("0f" * 20)


class GetLogsTests(RpcTestCase):
    """``eth_getLogs``."""

    def setUp(self):
        super().setUp()
        self.blocks = [self.add_transfer_block(nonce=i, amount=i)[0] for i in range(3)]
        self.backend.add_block([])

    async def test_default_range_is_latest(self):
        """Without a range the latest block is searched (empty here)."""
        self.assertEqual(await self.result("eth_getLogs", {}), [])

    async def test_range(self):
        """Logs of a range, in order, with the §3.7 log fields."""
        logs = await self.result("eth_getLogs", {"fromBlock": "0x1", "toBlock": "latest"})
        self.assertEqual([log["blockNumber"] for log in logs], ["0x1", "0x2", "0x3"])
        log = logs[0]
        self.assertEqual(log["address"], hx(TOKEN))
        self.assertEqual(log["topics"][0], hx(TRANSFER))
        for key in (
            "data",
            "blockHash",
            "blockTimestamp",
            "transactionHash",
            "transactionIndex",
            "logIndex",
            "removed",
        ):
            self.assertIn(key, log)

    async def test_address_and_topics(self):
        """Address and topic filters, including alternatives and null positions."""
        everything = {"fromBlock": "earliest"}
        self.assertEqual(
            len(await self.result("eth_getLogs", {**everything, "address": hx(TOKEN)})), 3
        )
        self.assertEqual(
            await self.result("eth_getLogs", {**everything, "address": [hx(OTHER)]}), []
        )
        to_bob = "0x" + "00" * 12 + BOB.hex()
        self.assertEqual(
            len(await self.result("eth_getLogs", {**everything, "topics": [None, None, to_bob]})),
            3,
        )
        self.assertEqual(
            await self.result("eth_getLogs", {**everything, "topics": [None, to_bob]}), []
        )
        self.assertEqual(
            len(
                await self.result(
                    "eth_getLogs", {**everything, "topics": [[hx(TRANSFER), "0x" + "00" * 32]]}
                )
            ),
            3,
        )

    async def test_block_hash(self):
        """The blockHash form; an unknown hash: ``block not found``."""
        logs = await self.result("eth_getLogs", {"blockHash": self.blocks[1]["hash"]})
        self.assertEqual([log["blockNumber"] for log in logs], ["0x2"])
        await self.assert_error(
            -32603, "block not found", "eth_getLogs", {"blockHash": "0x" + "00" * 32}
        )

    async def test_reversed_range(self):
        """``fromBlock > toBlock`` is an error (the reference would overflow)."""
        await self.assert_error(
            -32603,
            "invalid block range params",
            "eth_getLogs",
            {"fromBlock": "0x3", "toBlock": "0x1"},
        )

    async def test_range_beyond_tip_is_clamped(self):
        """A ``toBlock`` past the tip is clamped to the tip."""
        logs = await self.result("eth_getLogs", {"fromBlock": "0x3", "toBlock": "0x64"})
        self.assertEqual(len(logs), 1)

    async def test_bad_filter(self):
        """A filter that is not an object, or has a bad address: -32602."""
        await self.assert_error(-32602, "Invalid params", "eth_getLogs", "latest")
        await self.assert_error(-32602, "Invalid params", "eth_getLogs", {"address": "0x1"})
        await self.assert_error(-32602, "Invalid params", "eth_getLogs", {"fromBlock": "soon"})


class GetLogsLimitTests(RpcTestCase):
    """The range and result limits, set small."""

    config = RpcConfig(max_blocks_per_filter=2, max_logs_per_response=2)

    def setUp(self):
        super().setUp()
        for i in range(4):
            self.add_transfer_block(nonce=i)

    async def test_block_range_limit(self):
        """``to - from > max_blocks_per_filter``: the reference's message."""
        await self.assert_error(
            -32603,
            "query exceeds max block range 2",
            "eth_getLogs",
            {"fromBlock": "0x1", "toBlock": "0x4"},
        )
        at_limit = {"fromBlock": "0x2", "toBlock": "0x4", "address": hx(OTHER)}
        self.assertEqual(await self.result("eth_getLogs", at_limit), [])

    async def test_result_limit(self):
        """More logs than ``max_logs_per_response`` over several blocks: retry with a range
        that ends before the block that overflowed."""
        await self.assert_error(
            -32603,
            "query exceeds max results 2, retry with the range 2-3",
            "eth_getLogs",
            {"fromBlock": "0x2", "toBlock": "0x4"},
        )

    async def test_single_block_has_no_result_limit(self):
        """A one-block query returns all its logs, however many."""
        tx_logs = [(TOKEN, [TRANSFER], b"")] * 4
        self.add_transfer_block(nonce=9, extra_logs=tx_logs)
        logs = await self.result("eth_getLogs", {"fromBlock": "latest"})
        self.assertEqual(len(logs), 5)


class FilterTests(RpcTestCase):
    """Installed filters."""

    config = RpcConfig(stale_filter_ttl=60.0)

    def setUp(self):
        super().setUp()
        self.filters.start()
        self.addCleanup(self.filters.stop)

    async def test_filter_ids(self):
        """Ids are ``0x`` + lowercase hex of a random u128, without padding."""
        ids = {await self.result("eth_newBlockFilter") for _ in range(5)}
        self.assertEqual(len(ids), 5)
        for filter_id in ids:
            self.assertRegex(filter_id, r"^0x[0-9a-f]{1,32}$")
            self.assertNotRegex(filter_id, r"^0x0.")

    async def test_block_filter(self):
        """Hashes of the blocks since the previous poll, then nothing."""
        filter_id = await self.result("eth_newBlockFilter")
        self.assertEqual(await self.result("eth_getFilterChanges", filter_id), [])
        first, _ = self.add_transfer_block()
        second = self.backend.add_block([])
        self.assertEqual(
            await self.result("eth_getFilterChanges", filter_id), [first["hash"], second["hash"]]
        )
        self.assertEqual(await self.result("eth_getFilterChanges", filter_id), [])

    async def test_log_filter_changes(self):
        """New matching logs of the blocks since the previous poll, once each."""
        filter_id = await self.result("eth_newFilter", {"address": hx(TOKEN)})
        self.add_transfer_block(nonce=0)
        self.add_transfer_block(nonce=1)
        changes = await self.result("eth_getFilterChanges", filter_id)
        self.assertEqual([log["blockNumber"] for log in changes], ["0x1", "0x2"])
        self.assertEqual(await self.result("eth_getFilterChanges", filter_id), [])
        self.backend.add_block([])
        self.assertEqual(await self.result("eth_getFilterChanges", filter_id), [])

    async def test_log_filter_range(self):
        """A log filter keeps to its own range; ``eth_getFilterLogs`` returns all of it."""
        self.add_transfer_block(nonce=0)
        filter_id = await self.result("eth_newFilter", {"fromBlock": "0x1", "toBlock": "0x2"})
        self.add_transfer_block(nonce=1)
        self.add_transfer_block(nonce=2)
        changes = await self.result("eth_getFilterChanges", filter_id)
        self.assertEqual([log["blockNumber"] for log in changes], ["0x2"])
        all_logs = await self.result("eth_getFilterLogs", filter_id)
        self.assertEqual([log["blockNumber"] for log in all_logs], ["0x1", "0x2"])

    async def test_pending_filter(self):
        """Hashes (default) or full objects of transactions added since the last poll."""
        hashes = await self.result("eth_newPendingTransactionFilter")
        full = await self.result("eth_newPendingTransactionFilter", True)
        tx_hash = await self.result("eth_sendRawTransaction", "0x0201")
        self.assertEqual(await self.result("eth_getFilterChanges", hashes), [tx_hash])
        self.assertEqual(await self.result("eth_getFilterChanges", hashes), [])
        objects = await self.result("eth_getFilterChanges", full)
        self.assertEqual([tx["hash"] for tx in objects], [tx_hash])

    async def test_listens_only_while_a_pending_filter_exists(self):
        """No listener on the backend until a pending filter is installed, none after it is
        uninstalled (each pending transaction would cost an RPC object, or in an RPC worker a
        push from the sequencer)."""
        listeners = self.backend._pending_listeners
        self.assertEqual(listeners, [])
        await self.result("eth_newBlockFilter")
        self.assertEqual(listeners, [])
        first = await self.result("eth_newPendingTransactionFilter")
        second = await self.result("eth_newPendingTransactionFilter")
        self.assertEqual(len(listeners), 1)
        await self.result("eth_uninstallFilter", first)
        self.assertEqual(len(listeners), 1)
        await self.result("eth_uninstallFilter", second)
        self.assertEqual(listeners, [])

    async def test_filter_logs_of_non_log_filter(self):
        """``eth_getFilterLogs`` of a block filter or an unknown id: ``filter not found``."""
        filter_id = await self.result("eth_newBlockFilter")
        await self.assert_error(-32603, "filter not found", "eth_getFilterLogs", filter_id)
        await self.assert_error(-32603, "filter not found", "eth_getFilterLogs", "0x1234")
        await self.assert_error(-32603, "filter not found", "eth_getFilterChanges", "0x1234")
        await self.assert_error(-32602, "Invalid params", "eth_getFilterChanges", 5)

    async def test_uninstall(self):
        """``true`` once, then ``false``; the filter is gone."""
        filter_id = await self.result("eth_newBlockFilter")
        self.assertIs(await self.result("eth_uninstallFilter", filter_id), True)
        self.assertIs(await self.result("eth_uninstallFilter", filter_id), False)
        await self.assert_error(-32603, "filter not found", "eth_getFilterChanges", filter_id)

    async def test_stale_filters_expire(self):
        """A filter not polled for the TTL is removed at the next check; polling keeps it."""
        kept = await self.result("eth_newBlockFilter")
        dropped = await self.result("eth_newBlockFilter")
        self.clock.advance(40)
        await self.result("eth_getFilterChanges", kept)
        self.clock.advance(20)  # check at t=60: `dropped` is 60 s old, `kept` 20 s
        self.assertEqual(set(self.filters.filters), {kept})
        await self.assert_error(-32603, "filter not found", "eth_getFilterChanges", dropped)
        self.clock.advance(60)  # check at t=120: `kept` was last polled at t=40
        self.assertEqual(self.filters.filters, {})
