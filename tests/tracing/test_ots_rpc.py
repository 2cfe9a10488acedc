"""The ``ots_`` methods on a real chain (LMDB, sequencer, fake clock): traces, block pages, the
address-index searches, senders' nonces and contract creators."""

from __future__ import annotations

from eth_account import Account
from eth_utils import to_checksum_address
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer import test_backend_simulation as simulation
from tests.tracing.programs import LOGGER, NOPE, SHA256, init_code, push, root
from zkos_tw.execution.interpreter import create_address
from zkos_tw.rpc.codec import BlockId
from zkos_tw.rpc.errors import BackendError, InvalidParams, JsonRpcError
from zkos_tw.rpc.methods import MethodTable
from zkos_tw.rpc.ots import OtsNamespace

RICH, BOB, KEY = simulation.RICH, simulation.BOB, simulation.KEY
#: Creation code of a contract whose code is the single byte 0x00.
CHILD_INIT = bytes.fromhex("600060005360016000f3")
#: CREATE(0, CHILD_INIT), then CALL BOB with 1 wei, then STOP.
FACTORY = (
    push(int.from_bytes(CHILD_INIT, "big"), len(CHILD_INIT)) + push(0) + bytes([0x52])
    + push(len(CHILD_INIT)) + push(32 - len(CHILD_INIT)) + push(0) + bytes([0xF0, 0x50])
    + push(0) + push(0) + push(0) + push(0) + push(1) + push(int.from_bytes(BOB, "big"), 20)
    + push(0xFFFF) + bytes([0xF1, 0x50, 0x00])
)  # fmt: skip


def hx(value: bytes) -> str:
    return "0x" + value.hex()


class OtsTests(SynchronousTestCase):
    """On the backend simulation chain: block 1 deploys two contracts (simulation.setUp),
    block 2 the logger, the reverter and the root, block 3 calls them, block 4 deploys the
    factory, block 5 calls it with 5 wei."""

    mine = simulation.BackendSimulationTests.mine

    def send(self, to, data=b"", gas=500_000, value=0):
        tx = {"data": data, "value": value, "gas": gas, "nonce": self.nonce, "chainId": 270,
              "maxFeePerGas": 2000, "maxPriorityFeePerGas": 0}  # fmt: skip
        if to is not None:
            tx["to"] = to_checksum_address(to)
        self.nonce += 1
        raw = bytes(Account.sign_transaction(tx, KEY).raw_transaction)
        return self.mempool.add(raw)

    def setUp(self):
        simulation.BackendSimulationTests.setUp(self)
        self.ots = OtsNamespace(self.backend, self.backend.traces, self.backend.address_index)
        self.logger, self.nope, self.root = (create_address(RICH, n) for n in (2, 3, 4))
        self.factory = create_address(RICH, 7)
        self.child = create_address(self.factory, 1)
        self.send(None, init_code(LOGGER))
        self.send(None, init_code(NOPE))
        self.send(None, init_code(root(self.logger, self.nope)))
        self.deploys = self.mine()
        self.send(self.root)
        self.send(self.nope, b"\x01\x02\x03\x04")
        self.calls = self.mine()
        self.send(None, init_code(FACTORY))
        self.mine()
        self.send(self.factory, value=5)
        self.made = self.mine()

    def rpc(self, method, *args):
        return self.successResultOf(defer.ensureDeferred(self._call(method, *args)))

    async def _call(self, method, *args):
        result = getattr(self.ots, method)(*args)
        return await result if hasattr(result, "__await__") else result

    def rpc_error(self, method, *args) -> JsonRpcError:
        return self.failureResultOf(
            defer.ensureDeferred(self._call(method, *args)), JsonRpcError
        ).value

    def tx_hash(self, block, index=0) -> str:
        return hx(block.transactions[index].tx_hash)

    def test_api_level_and_has_code(self):
        """Level 8; a contract has code, an account does not, nor the root before block 2."""
        self.assertEqual(self.rpc("get_api_level"), 8)
        self.assertIs(self.rpc("has_code", self.root, None), True)
        self.assertIs(self.rpc("has_code", RICH, None), False)
        self.assertIs(self.rpc("has_code", self.root, BlockId(number=1)), False)
        self.assertEqual(self.rpc_error("has_code", self.root, BlockId(number=99)).message,
                         "block not found")  # fmt: skip

    def test_trace_transaction(self):
        """Every frame of the root call, flat with depths; STATICCALL shows value 0."""
        entries = self.rpc("trace_transaction", self.calls.transactions[0].tx_hash)
        self.assertEqual(
            [(e["type"], e["depth"], e["from"], e["to"]) for e in entries],
            [
                ("CALL", 0, hx(RICH), hx(self.root)),
                ("CALL", 1, hx(self.root), hx(self.logger)),
                ("STATICCALL", 1, hx(self.root), hx(self.nope)),
                ("CALL", 1, hx(self.root), hx(SHA256)),
            ],
        )
        self.assertEqual(entries[2]["value"], "0x0")
        self.assertEqual(int(entries[0]["output"], 16), 0x2A)
        self.assertEqual(entries[3]["input"], "0x00000000")
        self.assertEqual(self.rpc("trace_transaction", b"\x01" * 32), [])

    def test_transaction_error(self):
        """The revert data of a failed transaction; ``0x`` for a successful or unknown one."""
        error = self.rpc("get_transaction_error", self.calls.transactions[1].tx_hash)
        self.assertTrue(error.startswith("0x08c379a0"))
        self.assertIn(b"nope".hex(), error)
        self.assertEqual(
            self.rpc("get_transaction_error", self.calls.transactions[0].tx_hash), "0x"
        )
        self.assertEqual(self.rpc("get_transaction_error", b"\x01" * 32), "0x")

    def test_internal_operations(self):
        """The factory's CREATE (type 2) and its 1 wei to BOB (type 0); none in the root call."""
        self.assertEqual(
            self.rpc("get_internal_operations", self.made.transactions[0].tx_hash),
            [
                {"type": 2, "from": hx(self.factory), "to": hx(self.child), "value": "0x0"},
                {"type": 0, "from": hx(self.factory), "to": hx(BOB), "value": "0x1"},
            ],
        )
        self.assertEqual(
            self.rpc("get_internal_operations", self.calls.transactions[0].tx_hash), []
        )
        error = self.rpc_error("get_internal_operations", b"\x01" * 32)
        self.assertEqual((error.code, error.message), (-32000, "transaction not found"))

    def test_contract_creator(self):
        """A top-level creation from the index; an internal one found by tracing; an account or
        unknown address: null."""
        self.assertEqual(
            self.rpc("get_contract_creator", self.root),
            {"hash": self.tx_hash(self.deploys, 2), "creator": hx(RICH)},
        )
        self.assertEqual(
            self.rpc("get_contract_creator", self.child),
            {"hash": self.tx_hash(self.made), "creator": hx(self.factory)},
        )
        self.assertIsNone(self.rpc("get_contract_creator", RICH))
        self.assertIsNone(self.rpc("get_contract_creator", b"\x99" * 20))

    def test_transaction_by_sender_and_nonce(self):
        """The hash of the sender's transaction with that nonce, or null."""
        self.assertEqual(
            self.rpc("get_transaction_by_sender_and_nonce", RICH, 3), self.tx_hash(self.deploys, 1)
        )
        self.assertIsNone(self.rpc("get_transaction_by_sender_and_nonce", RICH, 99))
        self.assertIsNone(self.rpc("get_transaction_by_sender_and_nonce", BOB, 0))

    def test_block_details(self):
        """The header with ``transactionCount`` and no transactions, zero issuance, the fees."""
        details = self.rpc("get_block_details", 2)
        block = details["block"]
        self.assertNotIn("transactions", block)
        self.assertEqual((block["transactionCount"], block["uncles"]), (3, []))
        self.assertEqual(block["hash"], hx(self.deploys.hash))
        self.assertEqual(details["issuance"],
                         {"blockReward": "0x0", "uncleReward": "0x0", "issuance": "0x0"})  # fmt: skip
        fees = sum(r.gas_used * r.effective_gas_price for r in self.deploys.receipts)
        self.assertEqual(details["totalFees"], hex(fees))
        self.assertEqual(self.rpc("get_block_details_by_hash", self.deploys.hash), details)
        for method, arg in (("get_block_details", 99), ("get_block_details_by_hash", b"\x07" * 32)):
            error = self.rpc_error(method, arg)
            self.assertIsInstance(error, BackendError)
            self.assertEqual(error.message, "block not found")

    def test_block_transactions_pages(self):
        """Pages count from the block's end; receipts without logs and bloom, with timestamp."""
        first = self.rpc("get_block_transactions", 2, 0, 2)
        hashes = [t["hash"] for t in first["fullblock"]["transactions"]]
        self.assertEqual(hashes, [self.tx_hash(self.deploys, 1), self.tx_hash(self.deploys, 2)])
        self.assertEqual(first["fullblock"]["transactionCount"], 3)
        self.assertEqual([r["transactionHash"] for r in first["receipts"]], hashes)
        receipt = first["receipts"][0]
        self.assertIsNone(receipt["logs"])
        self.assertIsNone(receipt["logsBloom"])
        self.assertEqual(receipt["timestamp"], first["fullblock"]["timestamp"])
        second = self.rpc("get_block_transactions", 2, 1, 2)
        self.assertEqual([t["hash"] for t in second["fullblock"]["transactions"]],
                         [self.tx_hash(self.deploys, 0)])  # fmt: skip
        self.assertEqual(self.rpc("get_block_transactions", 2, 5, 2)["receipts"], [])
        self.assertIsInstance(self.rpc_error("get_block_transactions", 2, 0, 0), InvalidParams)

    def test_search_before_pages_through_history(self):
        """Before: newest first, whole blocks; paging down ends at the oldest with lastPage."""
        page = self.rpc("search_transactions_before", RICH, 0, 1)
        self.assertEqual((page["firstPage"], page["lastPage"]), (True, False))
        self.assertEqual([t["hash"] for t in page["txs"]], [self.tx_hash(self.made)])
        self.assertEqual(page["receipts"][0]["transactionHash"], self.tx_hash(self.made))
        self.assertIn("timestamp", page["receipts"][0])
        self.assertIsNotNone(page["receipts"][0]["logs"])
        seen = [t["hash"] for t in page["txs"]]
        while not page["lastPage"]:
            number = int(page["txs"][-1]["blockNumber"], 16)
            page = self.rpc("search_transactions_before", RICH, number, 2)
            self.assertFalse(page["firstPage"])
            seen += [t["hash"] for t in page["txs"]]
        numbers = range(1, self.backend.latest_block_number() + 1)
        expected = [hx(h) for n in numbers for h in self.chain.storage.block(n).tx_hashes]
        self.assertEqual(seen, expected[::-1])

    def test_search_after(self):
        """After: the oldest blocks first, answered newest first; the page of block 1 (two
        deployments, not split) is the last page."""
        page = self.rpc("search_transactions_after", RICH, 0, 1)
        self.assertEqual((page["firstPage"], page["lastPage"]), (False, True))
        stored = self.chain.storage.block(1)
        self.assertEqual([t["hash"] for t in page["txs"]], [hx(h) for h in stored.tx_hashes[::-1]])
        newest = self.rpc("search_transactions_after", RICH, 4, 10)
        self.assertEqual((newest["firstPage"], newest["lastPage"]), (True, False))
        self.assertEqual([t["hash"] for t in newest["txs"]], [self.tx_hash(self.made)])

    def test_search_finds_internal_calls_and_logs(self):
        """The logger appears in its creation and in the root call (called, log emitter); the
        reverter in its creation, the root call (a STATICCALL that reverted) and the failed
        direct call."""
        logger = self.rpc("search_transactions_before", self.logger, 0, 25)
        self.assertEqual([t["hash"] for t in logger["txs"]],
                         [self.tx_hash(self.calls), self.tx_hash(self.deploys, 0)])  # fmt: skip
        self.assertEqual((logger["firstPage"], logger["lastPage"]), (True, True))
        nope = self.rpc("search_transactions_before", self.nope, 0, 25)
        self.assertEqual([t["hash"] for t in nope["txs"]],
                         [self.tx_hash(self.calls, 1), self.tx_hash(self.calls, 0),
                          self.tx_hash(self.deploys, 1)])  # fmt: skip
        child = self.rpc("search_transactions_after", self.child, 0, 25)
        self.assertEqual([t["hash"] for t in child["txs"]], [self.tx_hash(self.made)])

    def test_method_table(self):
        """The namespace registers every ots_ method (and erigon_getHeaderByNumber); block
        numbers may be JSON integers, as Otterscan sends them."""
        table = MethodTable()
        table.add_namespace(self.ots)
        self.assertEqual(
            table.names(),
            sorted(
                [
                    "erigon_getHeaderByNumber", "ots_getApiLevel", "ots_getBlockDetails",
                    "ots_getBlockDetailsByHash", "ots_getBlockTransactions",
                    "ots_getContractCreator", "ots_getHeaderByNumber",
                    "ots_getInternalOperations", "ots_getTransactionBySenderAndNonce",
                    "ots_getTransactionError", "ots_hasCode", "ots_searchTransactionsAfter",
                    "ots_searchTransactionsBefore", "ots_traceTransaction",
                ]
            ),
        )  # fmt: skip
        details = self.successResultOf(defer.ensureDeferred(table.call("ots_getBlockDetails", [2])))
        self.assertEqual(details["block"]["number"], "0x2")
        header = self.successResultOf(
            defer.ensureDeferred(table.call("erigon_getHeaderByNumber", ["0x2"]))
        )
        self.assertEqual(header["hash"], hx(self.deploys.hash))
        self.assertNotIn("transactions", header)
