"""The ``zks_`` batch methods through the real RPC resource, over ``NodeBackend`` on in-memory
block storage and a ``MemoryBatchStore``: batch numbers and ranges, Era-shaped details, and
``zks_getL2ToL1LogProof`` (every error text of zksync-os-server.md §3.4, and proofs that
recompute the batch's logs root)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from prometheus_client import CollectorRegistry
from treq.testing import StubTreq
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from tests.batcher.envelopes import golden_envelope
from tests.replay.test_codec import record
from zkos_tw.batcher.batch_store import LMDBBatchStore
from zkos_tw.batcher.logs_tree import logs_root_hash, root_from_local, root_from_proof
from zkos_tw.batcher.pubdata import log_bytes
from zkos_tw.execution.l1_transactions import PRIORITY_TX_TYPE
from zkos_tw.interfaces import IRpcBackend
from zkos_tw.l1.batch_watcher import BatchProgress
from zkos_tw.rpc.server import build_rpc
from zkos_tw.sequencer.backend import NodeBackend
from zkos_tw.sequencer.batch_queries import proof_metadata
from zkos_tw.sequencer.blocks import BlockHeader
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.storage import BlockWrite, TxWrite
from zkos_tw.testing.memory_batch_store import MemoryBatchStore
from zkos_tw.testing.memory_storage import MemoryStorage

from .helpers import RpcTestCase, hx

COINBASE = b"\xc0" * 20
SENDER = b"\x05" * 20
BASE_FEE = 1000
TIMESTAMP = 1_700_000_000


def tx_hash(block: int, index: int) -> bytes:
    return bytes([block, index]) + bytes(30)


def l2_log(block: int, index: int, n: int) -> tuple:
    """A receipt's 6-tuple: shard 0, service, tx number, sender, key, value (all distinct)."""
    return (0, 1, index, b"\x80" + bytes(18) + bytes([n]), bytes([block]) * 32, bytes([n]) * 32)


# Per block: (tx type, number of L2->L1 logs) of each transaction, in order.
BLOCKS = {
    1: [(2, 0), (PRIORITY_TX_TYPE, 1)],
    2: [(2, 2), (PRIORITY_TX_TYPE, 1), (2, 0)],
    3: [(2, 0)],
    4: [(PRIORITY_TX_TYPE, 1)],
    5: [(2, 0), (PRIORITY_TX_TYPE, 1)],
}


class _Pool:
    """The mempool as the backend sees it: nothing pending."""

    def add_pending_listener(self, listener):
        pass

    def get(self, tx_hash):
        return None


def write_chain(storage) -> dict[int, list[bytes]]:
    """Blocks 1..5 of ``BLOCKS``; returns each block's encoded logs in order."""
    logs_of = {}
    counter = 0
    for number, txs in BLOCKS.items():
        writes, logs = [], []
        for index, (tx_type, count) in enumerate(txs):
            entries = []
            for _ in range(count):
                counter += 1
                entries.append(l2_log(number, index, counter))
            logs += [log_bytes(e) for e in entries]
            receipt = StoredReceipt(
                tx_type, True, 21000, 21000, BASE_FEE, SENDER, None, None, (), tuple(entries)
            )
            writes.append(TxWrite(tx_hash(number, index), b"\x02\xc0", receipt.encode()))
        header = BlockHeader(
            bytes(32), COINBASE, bytes(32), number, 100_000_000, 0, TIMESTAMP + number, BASE_FEE
        )
        wal = record()
        wal = replace(wal, context=replace(wal.context, number=number))
        storage.write_block(
            BlockWrite(number, bytes([number]) * 32, wal.encode(), header.encode(), tuple(writes))
        )
        logs_of[number] = logs
    return logs_of


def batch(number: int, first: int, last: int, logs: list[bytes], l1_txs: int):
    base = golden_envelope().batch
    commit = replace(
        base.commit_batch_info,
        batch_number=number,
        new_state_commitment=bytes([0x50 + number]) * 32,
        number_of_layer1_txs=l1_txs,
        l2_to_l1_logs_root_hash=logs_root_hash(logs),
        first_block_timestamp=TIMESTAMP + first,
        last_block_timestamp=TIMESTAMP + last,
    )
    previous = replace(base.previous_stored_batch_info, batch_number=number - 1)
    return replace(
        base,
        previous_stored_batch_info=previous,
        commit_batch_info=commit,
        first_block_number=first,
        last_block_number=last,
        tx_count=sum(len(BLOCKS[n]) for n in range(first, last + 1)),
    )


class BatchMethodsTests(RpcTestCase):
    """Batch 1 = blocks 1..3 (logs of two L1 txs and one L2 tx), batch 2 = block 4, block 5 not
    batched; batch 1 executed on L1, batch 2 committed only."""

    def setUp(self):
        self.clock = Clock()
        self.storage = MemoryStorage()
        self.logs_of = write_chain(self.storage)
        self.backend = NodeBackend(
            chain=SimpleNamespace(storage=self.storage),
            mempool=_Pool(),
            genesis_document={},
            chain_id=270,
            bridgehub_address="0x" + "00" * 20,
            eth_call_gas=10_000_000,
        )
        self.batch_logs = self.logs_of[1] + self.logs_of[2] + self.logs_of[3]
        self.store = self.make_store()
        self.store.put(batch(1, 1, 3, self.batch_logs, 2))
        self.store.put(batch(2, 4, 4, self.logs_of[4], 1))
        self.progress = BatchProgress(committed=2, proved=2, executed=1)
        self.registry = CollectorRegistry()
        self.site, self.filters, self.dispatcher = build_rpc(
            self.config, self.backend, self.clock, self.registry
        )
        self.treq = StubTreq(self.site.resource)

    def make_store(self):
        return MemoryBatchStore()

    def attach(self):
        self.backend.set_batch_store(self.store)
        self.backend.set_batch_progress(self.progress)

    def test_interface(self):
        """``NodeBackend`` provides every ``IRpcBackend`` method, the batch ones included."""
        self.assertTrue(verifyObject(IRpcBackend, self.backend))

    async def test_before_a_batch_store(self):
        """Without a batch store: batch 0 only, and no block but genesis is in a batch."""
        self.assertEqual(await self.result("zks_getL1BatchNumber"), "0x0")
        self.assertEqual(await self.result("zks_getL1BatchBlockRange", 0), ["0x0", "0x0"])
        self.assertIsNone(await self.result("zks_getL1BatchBlockRange", 1))
        self.assertIsNone(await self.result("zks_getL1BatchDetails", 1))
        details = await self.result("zks_getBlockDetails", 2)
        self.assertEqual((details["l1BatchNumber"], details["status"]), (1, "sealed"))
        await self.assert_error(
            -32603,
            "transaction has not been included in an L1 batch yet",
            "zks_getL2ToL1LogProof",
            hx(tx_hash(1, 1)),
        )

    async def test_batch_number_and_range(self):
        """The newest sealed batch as a hex quantity; ranges as ``[first, last]`` hex."""
        self.attach()
        self.assertEqual(await self.result("zks_getL1BatchNumber"), "0x2")
        self.assertEqual(await self.result("zks_getL1BatchBlockRange", 1), ["0x1", "0x3"])
        self.assertEqual(await self.result("zks_getL1BatchBlockRange", "0x2"), ["0x4", "0x4"])
        self.assertIsNone(await self.result("zks_getL1BatchBlockRange", 3))

    async def test_batch_details(self):
        """Era's shape: counts from the receipts, the state commitment, ``verified`` once
        executed, L1 transaction fields null."""
        self.attach()
        one = await self.result("zks_getL1BatchDetails", 1)
        self.assertEqual(
            one,
            {
                "number": 1,
                "timestamp": TIMESTAMP + 1,
                "l1TxCount": 2,
                "l2TxCount": 4,
                "rootHash": hx(b"\x51" * 32),
                "status": "verified",
                "commitTxHash": None,
                "committedAt": None,
                "proveTxHash": None,
                "provenAt": None,
                "executeTxHash": None,
                "executedAt": None,
                "l1GasPrice": 0,
                "l2FairGasPrice": BASE_FEE,
                "fairPubdataPrice": None,
            },
        )
        two = await self.result("zks_getL1BatchDetails", 2)
        self.assertEqual((two["status"], two["l1TxCount"], two["l2TxCount"]), ("sealed", 1, 0))
        self.assertIsNone(await self.result("zks_getL1BatchDetails", 3))

    async def test_block_details(self):
        """The block's batch (the one being built for a block not sealed in one yet)."""
        self.attach()
        two = await self.result("zks_getBlockDetails", 2)
        self.assertEqual(
            {k: two[k] for k in ("number", "l1BatchNumber", "l1TxCount", "l2TxCount", "status")},
            {"number": 2, "l1BatchNumber": 1, "l1TxCount": 1, "l2TxCount": 2, "status": "verified"},
        )
        self.assertEqual(two["rootHash"], hx(b"\x02" * 32))
        self.assertEqual(two["operatorAddress"], hx(COINBASE))
        self.assertEqual(two["timestamp"], TIMESTAMP + 2)
        self.assertEqual((await self.result("zks_getBlockDetails", 4))["status"], "sealed")
        self.assertEqual((await self.result("zks_getBlockDetails", 5))["l1BatchNumber"], 3)
        self.assertIsNone(await self.result("zks_getBlockDetails", 6))

    async def test_bad_params(self):
        """Batch and block numbers are u32 (an integer or a hex quantity); a hash is 32 bytes."""
        for method in ("zks_getL1BatchDetails", "zks_getL1BatchBlockRange", "zks_getBlockDetails"):
            await self.assert_error(-32602, "Invalid params", method, 2**32)
            await self.assert_error(-32602, "Invalid params", method, "one")
            await self.assert_error(-32602, "Invalid params", method)
        await self.assert_error(-32602, "Invalid params", "zks_getL2ToL1LogProof", "0x12")
        await self.assert_error(-32602, "Invalid params", "zks_getL1BatchNumber", 1)

    def check_proof(self, result, log: bytes, logs: list[bytes]):
        """The §3.4 layout, and the path recomputes the root L1 stores for the batch."""
        proof = [bytes.fromhex(w[2:]) for w in result["proof"]]
        path = proof[1:-1]
        self.assertEqual(proof[0], proof_metadata(14))
        self.assertEqual(proof[0][:4], bytes([1, 15, 0, 1]))
        self.assertEqual(proof[-1], bytes(32))
        self.assertEqual(len(path), 14)
        root = root_from_local(root_from_proof(log, result["id"], path))
        self.assertEqual(hx(root), result["root"])
        self.assertEqual(root, logs_root_hash(logs))
        stored = self.store.batch(result["batch_number"]).commit_batch_info
        self.assertEqual(root, stored.l2_to_l1_logs_root_hash)

    async def test_proofs_of_every_log_in_a_batch(self):
        """Every log of batch 1 (L1-tx logs and an L2 tx's two) proves against its root, with
        ``id`` its index among all the batch's logs."""
        self.attach()
        expected_ids = {(1, 1, 0): 0, (2, 0, 0): 1, (2, 0, 1): 2, (2, 1, 0): 3}
        for (block, index, i), log_id in expected_ids.items():
            result = await self.result("zks_getL2ToL1LogProof", hx(tx_hash(block, index)), i)
            self.assertEqual(set(result), {"batch_number", "proof", "id", "root"})
            self.assertEqual((result["batch_number"], result["id"]), (1, log_id))
            self.check_proof(result, self.batch_logs[log_id], self.batch_logs)
        # ``index`` defaults to 0.
        default = await self.result("zks_getL2ToL1LogProof", hx(tx_hash(2, 1)))
        self.assertEqual(default["id"], 3)

    async def test_proof_errors(self):
        """Every error text of §3.4, and null for an unknown transaction."""
        self.attach()
        self.assertIsNone(await self.result("zks_getL2ToL1LogProof", hx(b"\xee" * 32), 0))
        cases = [
            (tx_hash(5, 1), 0, "transaction has not been included in an L1 batch yet"),
            (tx_hash(4, 0), 0, "L1 batch containing the transaction has not been executed yet"),
            (
                tx_hash(2, 0),
                2,
                "provided L2->L1 log index (2) does not exist; "
                "there are only 2 L2->L1 logs in the transaction",
            ),
            (
                tx_hash(3, 0),
                0,
                "provided L2->L1 log index (0) does not exist; "
                "there are only 0 L2->L1 logs in the transaction",
            ),
        ]
        for h, index, message in cases:
            await self.assert_error(-32603, message, "zks_getL2ToL1LogProof", hx(h), index)

    async def test_executed_guard_compares_batches(self):
        """The reference compares the last executed *block* (here 4) with the batch number (2)
        and would answer; we compare batch with batch. Once batch 2 executes, it proves."""
        self.attach()
        self.progress.last_executed_block = 4
        await self.assert_error(
            -32603,
            "L1 batch containing the transaction has not been executed yet",
            "zks_getL2ToL1LogProof",
            hx(tx_hash(4, 0)),
        )
        self.progress.executed(2)
        result = await self.result("zks_getL2ToL1LogProof", hx(tx_hash(4, 0)))
        self.assertEqual((result["batch_number"], result["id"]), (2, 0))
        self.check_proof(result, self.logs_of[4][0], self.logs_of[4])

    async def test_sealed_but_not_committed(self):
        """A batch sealed but not yet committed on L1 is not "in an L1 batch" yet."""
        self.attach()
        self.progress = BatchProgress(committed=1, proved=1, executed=1)
        self.backend.set_batch_progress(self.progress)
        await self.assert_error(
            -32603,
            "transaction has not been included in an L1 batch yet",
            "zks_getL2ToL1LogProof",
            hx(tx_hash(4, 0)),
        )

    async def test_missing_history(self):
        """A batch block or receipt storage no longer has: ``historical ... is not available``."""
        self.attach()
        del self.storage._txs[tx_hash(3, 0)]
        await self.assert_error(
            -32603,
            f"historical transaction {hx(tx_hash(3, 0))} is not available",
            "zks_getL2ToL1LogProof",
            hx(tx_hash(1, 1)),
        )
        del self.storage._blocks[2]
        await self.assert_error(
            -32603,
            "historical block 2 is not available",
            "zks_getL2ToL1LogProof",
            hx(tx_hash(1, 1)),
        )


class LMDBBatchMethodsTests(BatchMethodsTests):
    """The same answers over the LMDB batch store the node uses."""

    def make_store(self):
        store = LMDBBatchStore(self.mktemp())
        self.addCleanup(store.close)
        return store
