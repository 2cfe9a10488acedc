"""Every ``eth_`` method (except filters, logs and subscriptions): shapes and errors."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak
from zope.interface.verify import verifyObject

from zkos_tw.interfaces import IRpcBackend
from zkos_tw.rpc.errors import BackendError, ExecutionReverted

from .helpers import ALICE, BOB, TOKEN, RpcTestCase, hx

UNIMPLEMENTED = (
    "eth_coinbase",
    "eth_blobBaseFee",
)


class BackendTests(RpcTestCase):
    """The fake backend is an ``IRpcBackend``."""

    def test_interface(self):
        """``FakeRpcBackend`` provides every method of ``IRpcBackend``."""
        self.assertTrue(verifyObject(IRpcBackend, self.backend))


class ConstantTests(RpcTestCase):
    """Methods that answer constants or chain facts."""

    async def test_constants(self):
        """Protocol version, syncing, accounts, gas price, priority fee, chain id."""
        self.assertEqual(await self.result("eth_protocolVersion"), "zksync_os/0.0.1")
        self.assertIs(await self.result("eth_syncing"), False)
        self.assertEqual(await self.result("eth_accounts"), [])
        self.assertEqual(await self.result("eth_gasPrice"), "0x3e8")
        self.assertEqual(await self.result("eth_maxPriorityFeePerGas"), "0x0")
        self.assertEqual(await self.result("eth_chainId"), "0x10e")

    async def test_block_number(self):
        """``eth_blockNumber`` follows the newest block."""
        self.assertEqual(await self.result("eth_blockNumber"), "0x0")
        self.add_transfer_block()
        self.assertEqual(await self.result("eth_blockNumber"), "0x1")

    async def test_fee_history_stub(self):
        """The reference's stub: ``count`` copies of 10000 and 0.5, oldest block 0."""
        history = await self.result("eth_feeHistory", "0x3", "latest", [25, 75])
        self.assertEqual(
            history,
            {
                "baseFeePerGas": ["0x2710"] * 3,
                "gasUsedRatio": [0.5] * 3,
                "baseFeePerBlobGas": [],
                "blobGasUsedRatio": [],
                "oldestBlock": "0x0",
            },
        )
        await self.assert_error(-32602, "Invalid params", "eth_feeHistory", "0x1", "latest", "x")
        await self.assert_error(-32602, "Invalid params", "eth_feeHistory")

    async def test_unimplemented(self):
        """Methods the reference leaves unimplemented: -32603 ``unimplemented``."""
        for method in UNIMPLEMENTED:
            await self.assert_error(-32603, "unimplemented", method)
        for method in (
            "eth_simulateV1",
            "eth_callMany",
            "eth_createAccessList",
            "eth_getAccount",
            "eth_getAccountInfo",
        ):
            await self.assert_error(-32603, "unimplemented", method, {})

    async def test_no_signer(self):
        """Signing methods: ``node has no signer accounts``."""
        await self.assert_error(-32603, "node has no signer accounts", "eth_sendTransaction", {})
        await self.assert_error(-32603, "node has no signer accounts", "eth_sign", hx(ALICE), "0x")
        await self.assert_error(-32603, "node has no signer accounts", "eth_signTransaction", {})
        await self.assert_error(
            -32603, "node has no signer accounts", "eth_signTypedData", hx(ALICE), {}
        )

    async def test_get_proof(self):
        """``eth_getProof`` is refused with the reference's text."""
        await self.assert_error(
            -32603,
            "unsupported as ZKsync OS has a different storage layout than Ethereum",
            "eth_getProof",
            hx(ALICE),
            [],
            "latest",
        )


class BlockTests(RpcTestCase):
    """Block getters and block tags."""

    def setUp(self):
        super().setUp()
        self.block, self.tx = self.add_transfer_block()

    async def test_by_number_and_tags(self):
        """Numbers and every tag resolve; safe/finalized come from the backend."""
        self.assertEqual((await self.result("eth_getBlockByNumber", "0x1", False)), self.block)
        for tag in ("latest", "pending", "safe", "finalized"):
            block = await self.result("eth_getBlockByNumber", tag, False)
            self.assertEqual(block["number"], "0x1", tag)
        earliest = await self.result("eth_getBlockByNumber", "earliest", False)
        self.assertEqual(earliest["number"], "0x0")
        self.backend.safe = 0
        self.backend.finalized = 0
        self.assertEqual(
            (await self.result("eth_getBlockByNumber", "safe", False))["number"], "0x0"
        )
        self.assertEqual(
            (await self.result("eth_getBlockByNumber", "finalized", False))["number"], "0x0"
        )

    async def test_block_shape(self):
        """The block carries the §3.7 header fields, tx hashes, and no uncles."""
        block = await self.result("eth_getBlockByNumber", "latest", False)
        for key in (
            "hash",
            "parentHash",
            "miner",
            "stateRoot",
            "transactionsRoot",
            "logsBloom",
            "number",
            "gasLimit",
            "gasUsed",
            "timestamp",
            "baseFeePerGas",
            "size",
        ):
            self.assertIn(key, block)
        self.assertEqual(block["transactions"], [hx(self.tx["hash"])])
        self.assertEqual(block["uncles"], [])

    async def test_full_transactions(self):
        """``full=true`` embeds transaction objects."""
        block = await self.result("eth_getBlockByNumber", "0x1", True)
        self.assertEqual(block["transactions"][0]["hash"], hx(self.tx["hash"]))
        self.assertEqual(block["transactions"][0]["blockNumber"], "0x1")

    async def test_by_hash(self):
        """By hash, and null for an unknown hash or a number beyond the tip."""
        self.assertEqual(
            await self.result("eth_getBlockByHash", self.block["hash"], False), self.block
        )
        self.assertIsNone(await self.result("eth_getBlockByHash", "0x" + "00" * 32, False))
        self.assertIsNone(await self.result("eth_getBlockByNumber", "0x9", False))

    async def test_bad_params(self):
        """Bad tags, missing ``full``, a non-boolean ``full``: -32602."""
        await self.assert_error(-32602, "Invalid params", "eth_getBlockByNumber", "newest", False)
        await self.assert_error(-32602, "Invalid params", "eth_getBlockByNumber", "0x1")
        await self.assert_error(-32602, "Invalid params", "eth_getBlockByNumber", "0x1", "yes")
        await self.assert_error(-32602, "Invalid params", "eth_getBlockByHash", "0x12", False)

    async def test_headers(self):
        """Headers are blocks without transactions and uncles."""
        header = await self.result("eth_getHeaderByNumber", "0x1")
        self.assertEqual(header["hash"], self.block["hash"])
        self.assertNotIn("transactions", header)
        self.assertEqual(await self.result("eth_getHeaderByHash", self.block["hash"]), header)
        self.assertIsNone(await self.result("eth_getHeaderByNumber", "0x7"))

    async def test_counts(self):
        """Transaction and uncle counts, null for a missing block."""
        self.assertEqual(await self.result("eth_getBlockTransactionCountByNumber", "0x1"), "0x1")
        self.assertEqual(
            await self.result("eth_getBlockTransactionCountByHash", self.block["hash"]), "0x1"
        )
        self.assertIsNone(await self.result("eth_getBlockTransactionCountByNumber", "0x5"))
        self.assertEqual(await self.result("eth_getUncleCountByBlockNumber", "0x1"), "0x0")
        self.assertEqual(
            await self.result("eth_getUncleCountByBlockHash", self.block["hash"]), "0x0"
        )
        self.assertIsNone(await self.result("eth_getUncleCountByBlockNumber", "0x5"))
        self.assertIsNone(await self.result("eth_getUncleByBlockNumberAndIndex", "0x1", "0x0"))
        self.assertIsNone(
            await self.result("eth_getUncleByBlockHashAndIndex", self.block["hash"], "0x0")
        )

    async def test_block_receipts(self):
        """Receipts of a block by tag, number or hash; null for a missing block."""
        receipts = await self.result("eth_getBlockReceipts", "latest")
        self.assertEqual([r["transactionHash"] for r in receipts], [hx(self.tx["hash"])])
        self.assertEqual(await self.result("eth_getBlockReceipts", self.block["hash"]), receipts)
        self.assertEqual(
            await self.result("eth_getBlockReceipts", {"blockHash": self.block["hash"]}), receipts
        )
        self.assertIsNone(await self.result("eth_getBlockReceipts", "0x9"))
        self.assertIsNone(await self.result("eth_getBlockReceipts", "0x" + "00" * 32))


class TransactionTests(RpcTestCase):
    """Transaction and receipt getters, and sending."""

    def setUp(self):
        super().setUp()
        self.block, self.tx = self.add_transfer_block()
        self.tx_hash = hx(self.tx["hash"])

    async def test_by_hash(self):
        """Mined transactions by hash, raw bytes, and null for unknown hashes."""
        tx = await self.result("eth_getTransactionByHash", self.tx_hash)
        self.assertEqual(
            (tx["hash"], tx["blockNumber"], tx["from"]), (self.tx_hash, "0x1", hx(ALICE))
        )
        self.assertEqual(
            await self.result("eth_getRawTransactionByHash", self.tx_hash), hx(self.tx["raw"])
        )
        unknown = "0x" + "99" * 32
        self.assertIsNone(await self.result("eth_getTransactionByHash", unknown))
        self.assertIsNone(await self.result("eth_getRawTransactionByHash", unknown))
        await self.assert_error(-32602, "Invalid params", "eth_getTransactionByHash", "0x99")

    async def test_by_block_and_index(self):
        """By block number or hash and index; null past the end."""
        by_number = await self.result("eth_getTransactionByBlockNumberAndIndex", "latest", "0x0")
        self.assertEqual(by_number["hash"], self.tx_hash)
        by_hash = await self.result(
            "eth_getTransactionByBlockHashAndIndex", self.block["hash"], "0x0"
        )
        self.assertEqual(by_hash, by_number)
        self.assertIsNone(
            await self.result("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x1")
        )
        raw = await self.result("eth_getRawTransactionByBlockNumberAndIndex", "0x1", "0x0")
        self.assertEqual(raw, hx(self.tx["raw"]))
        raw = await self.result(
            "eth_getRawTransactionByBlockHashAndIndex", self.block["hash"], "0x0"
        )
        self.assertEqual(raw, hx(self.tx["raw"]))
        self.assertIsNone(
            await self.result("eth_getRawTransactionByBlockNumberAndIndex", "0x5", "0x0")
        )

    async def test_by_sender_and_nonce(self):
        """``eth_getTransactionBySenderAndNonce``: the transaction or null."""
        tx = await self.result("eth_getTransactionBySenderAndNonce", hx(ALICE), "0x0")
        self.assertEqual(tx["hash"], self.tx_hash)
        self.assertIsNone(await self.result("eth_getTransactionBySenderAndNonce", hx(ALICE), "0x1"))
        await self.assert_error(
            -32602, "Invalid params", "eth_getTransactionBySenderAndNonce", hx(ALICE)
        )

    async def test_receipt(self):
        """The receipt with logs and ``l2ToL1Logs``; null for unknown or pending txs."""
        receipt = await self.result("eth_getTransactionReceipt", self.tx_hash)
        self.assertEqual(receipt["status"], "0x1")
        self.assertEqual(receipt["logs"][0]["address"], hx(TOKEN))
        self.assertEqual(receipt["l2ToL1Logs"], [])
        pending = await self.result("eth_sendRawTransaction", "0x02c0ffee")
        self.assertIsNone(await self.result("eth_getTransactionReceipt", pending))

    async def test_send_raw_transaction(self):
        """The hash comes back; the pooled tx is found with null block fields."""
        tx_hash = await self.result("eth_sendRawTransaction", "0x02abcdef")
        self.assertEqual(tx_hash, hx(keccak(bytes.fromhex("02abcdef"))))
        pooled = await self.result("eth_getTransactionByHash", tx_hash)
        self.assertIsNone(pooled["blockHash"])
        self.assertIsNone(pooled["blockNumber"])
        self.assertIsNone(pooled["transactionIndex"])
        self.assertEqual(await self.result("eth_getRawTransactionByHash", tx_hash), "0x02abcdef")

    async def test_send_errors(self):
        """Backend errors pass through as -32603 with their exact text."""
        await self.assert_error(
            -32603, "failed to decode signed transaction", "eth_sendRawTransaction", "0x"
        )
        await self.assert_error(
            -32603, "failed to decode signed transaction", "eth_sendRawTransaction", "0x7f00"
        )
        self.backend.send_error = (
            "sender does not have enough funds (0) to cover transaction fees: 21000"
        )
        error = await self.error("eth_sendRawTransaction", "0x0201")
        self.assertEqual(error["code"], -32603)
        self.assertEqual(
            error["message"],
            "[" + hx(keccak(b"\x02\x01")) + "]: sender does not have enough funds (0) to cover "
            "transaction fees: 21000",
        )
        self.assertNotIn("data", error)
        await self.assert_error(-32602, "Invalid params", "eth_sendRawTransaction", "0x123")
        await self.assert_error(-32602, "Invalid params", "eth_sendRawTransaction", 5)


class StateTests(RpcTestCase):
    """Balance, nonce, code and storage."""

    def setUp(self):
        super().setUp()
        self.add_transfer_block()
        account = self.backend.account(ALICE)
        account.balance = 10**18
        account.nonce = 3
        account.code = b"\x60\x00"
        account.storage[1] = 0xBEEF

    async def test_reads(self):
        """Each getter, with the block omitted, a tag, a number and a hash."""
        block_hash = (await self.result("eth_getBlockByNumber", "latest", False))["hash"]
        for block in ((), ("latest",), ("0x1",), (block_hash,), ({"blockNumber": "0x1"},)):
            self.assertEqual(
                await self.result("eth_getBalance", hx(ALICE), *block), "0xde0b6b3a7640000"
            )
            self.assertEqual(await self.result("eth_getTransactionCount", hx(ALICE), *block), "0x3")
            self.assertEqual(await self.result("eth_getCode", hx(ALICE), *block), "0x6000")
            self.assertEqual(
                await self.result("eth_getStorageAt", hx(ALICE), "0x1", *block),
                "0x" + "00" * 30 + "beef",
            )

    async def test_empty_account(self):
        """An absent account reads as zero, ``0x`` code and zero storage."""
        self.assertEqual(await self.result("eth_getBalance", hx(BOB)), "0x0")
        self.assertEqual(await self.result("eth_getCode", hx(BOB)), "0x")
        self.assertEqual(
            await self.result("eth_getStorageAt", hx(BOB), "0x" + "00" * 32), "0x" + "00" * 32
        )

    async def test_block_above_tip(self):
        """A block beyond the tip: -32603 ``block N not found``; an unknown hash: ``block not
        found``."""
        await self.assert_error(-32603, "block 9 not found", "eth_getBalance", hx(ALICE), "0x9")
        await self.assert_error(
            -32603, "block not found", "eth_getCode", hx(ALICE), "0x" + "12" * 32
        )

    async def test_pending_nonce(self):
        """``pending``: the pool's next nonce when the sender has pending txs, else the state's."""
        self.assertEqual(await self.result("eth_getTransactionCount", hx(ALICE), "pending"), "0x3")
        self.backend.pending_nonce = lambda address: 5
        self.assertEqual(await self.result("eth_getTransactionCount", hx(ALICE), "pending"), "0x5")

        def overflow(address):
            raise BackendError("nonce has max value")

        self.backend.pending_nonce = overflow
        await self.assert_error(
            -32603, "nonce has max value", "eth_getTransactionCount", hx(ALICE), "pending"
        )

    async def test_bad_params(self):
        """Bad addresses, slots and block ids: -32602."""
        await self.assert_error(-32602, "Invalid params", "eth_getBalance", "0x12")
        await self.assert_error(-32602, "Invalid params", "eth_getBalance", hx(ALICE), "newest")
        await self.assert_error(-32602, "Invalid params", "eth_getStorageAt", hx(ALICE), "slot")
        await self.assert_error(-32602, "Invalid params", "eth_getCode", 12)


class CallTests(RpcTestCase):
    """``eth_call`` and ``eth_estimateGas``."""

    def setUp(self):
        super().setUp()
        self.add_transfer_block()
        self.req = {"from": hx(ALICE), "to": hx(TOKEN), "input": "0x70a08231"}

    async def test_call(self):
        """Output as hex; the request reaches the backend with ``eth_call_gas`` filled in and
        the resolved block."""
        self.backend.call_handler = lambda request, number: b"\x00" * 31 + b"\x2a"
        result = await self.result("eth_call", self.req, "latest")
        self.assertEqual(result, "0x" + "00" * 31 + "2a")
        kind, request, number = self.backend.calls[-1]
        self.assertEqual(
            (kind, request.gas, request.input, number), ("call", 10_000_000, b"\x70\xa0\x82\x31", 1)
        )

    async def test_revert(self):
        """A revert: code 3, ``execution reverted: <reason>``, the raw data in ``data``."""
        output = bytes.fromhex("08c379a0") + encode(["string"], ["nope"])

        def revert(request, number):
            raise ExecutionReverted(output)

        self.backend.call_handler = revert
        self.backend.estimate_handler = revert
        for method in ("eth_call", "eth_estimateGas"):
            error = await self.error(method, self.req)
            self.assertEqual(
                error, {"code": 3, "message": "execution reverted: nope", "data": hx(output)}
            )

    async def test_estimate(self):
        """The estimate as a quantity."""
        self.backend.estimate_handler = lambda request, number: 53000
        self.assertEqual(await self.result("eth_estimateGas", self.req), "0xcf08")

    async def test_next_block_context(self):
        """``latest``, ``pending`` and no block simulate in the next block's context (#18); an
        explicit number, hash or other tag keeps that block's own context."""
        self.backend.call_handler = lambda request, number: b""
        self.backend.estimate_handler = lambda request, number: 21000
        block_hash = (await self.result("eth_getBlockByNumber", "0x1", False))["hash"]
        cases = [
            ((), True),
            (("latest",), True),
            (("pending",), True),
            (("0x1",), False),
            ((block_hash,), False),
            (("safe",), False),
            (("earliest",), False),
        ]
        for method in ("eth_call", "eth_estimateGas"):
            for block, next_block in cases:
                await self.result(method, self.req, *block)
                self.assertEqual(self.backend.next_block_flags[-1], next_block, (method, block))

    async def test_missing_priority_fee(self):
        """``maxFeePerGas`` without ``maxPriorityFeePerGas``: the reference's text, nothing run."""
        for method in ("eth_call", "eth_estimateGas"):
            await self.assert_error(
                -32603,
                "missing `maxPriorityFeePerGas` field for EIP-1559 transaction",
                method,
                {**self.req, "maxFeePerGas": hex(10**9 + 1)},
            )
        self.assertEqual(self.backend.calls, [])

    async def test_block_not_found(self):
        """A block above the tip or an unknown hash: ``block not found``."""
        await self.assert_error(-32603, "block not found", "eth_call", self.req, "0x5")
        await self.assert_error(
            -32603, "block not found", "eth_estimateGas", self.req, "0x" + "00" * 32
        )

    async def test_overrides_refused(self):
        """State and block overrides are refused with the reference's text."""
        await self.assert_error(
            -32603,
            "state overrides are not supported in `eth_call`",
            "eth_call",
            self.req,
            "latest",
            {},
        )
        await self.assert_error(
            -32603,
            "block overrides are not supported in `eth_call`",
            "eth_call",
            self.req,
            "latest",
            None,
            {},
        )

    async def test_fee_checks(self):
        """The fee checks use the block's base fee (1000)."""
        await self.assert_error(
            -32603,
            "`maxFeePerGas` less than `block.baseFee`",
            "eth_call",
            {**self.req, "maxFeePerGas": "0x10"},
        )
        self.assertEqual(self.backend.calls, [])

    async def test_unsupported_types(self):
        """Blob, 7702 and upgrade requests are refused."""
        await self.assert_error(
            -32603,
            "EIP-4844 transactions are not supported",
            "eth_call",
            {**self.req, "type": "0x3"},
        )
        await self.assert_error(
            -32603,
            "EIP-7702 transactions are not supported",
            "eth_estimateGas",
            {**self.req, "authorizationList": []},
        )
        await self.assert_error(
            -32603,
            "upgrade transactions cannot be estimated",
            "eth_estimateGas",
            {**self.req, "type": "0x7e"},
        )

    async def test_l1_request_skips_fee_checks(self):
        """A 0x7f (L1 priority) request goes to the backend without the fee checks."""
        await self.result(
            "eth_estimateGas",
            {**self.req, "type": "0x7f", "gasPrice": "0x1", "maxFeePerGas": "0x1"},
        )
        self.assertEqual(self.backend.calls[-1][1].transaction_type, 0x7F)

    async def test_bad_request(self):
        """A request that is not an object, or has bad fields: -32602."""
        await self.assert_error(-32602, "Invalid params", "eth_call", "0x")
        await self.assert_error(-32602, "Invalid params", "eth_call", {"to": "0x12"})
        await self.assert_error(-32602, "Invalid params", "eth_estimateGas", {"gas": "lots"})


class AsyncBackendTests(RpcTestCase):
    """Backends may answer with Deferreds (e.g. from a thread)."""

    async def test_deferred_answers(self):
        """A Deferred from the backend is awaited without blocking: the response waits for it."""
        from twisted.internet.defer import Deferred

        pending = Deferred()
        self.backend.latest_block_number = lambda: pending
        call = self.call("eth_blockNumber")
        from twisted.internet.defer import ensureDeferred

        d = ensureDeferred(call)
        self.assertNoResult(d)
        pending.callback(41)
        self.treq.flush()
        response = self.successResultOf(d)
        self.assertEqual(response["result"], "0x29")
