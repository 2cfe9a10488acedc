"""L1 transactions in produced and replayed blocks: the upgrade first, priority ids gapless."""

from __future__ import annotations

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.execution.test_l1_transactions import l1_tx
from tests.sequencer.test_replay import Node
from tests.sequencer.test_service import BOB, signed
from zkos_tw.chain import open_chain
from zkos_tw.execution.l1_transactions import UPGRADE_TX_TYPE
from zkos_tw.sequencer.accounts import StorageAccountReader
from zkos_tw.sequencer.l1_queue import L1TransactionQueue
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.sequencer.rpc_shapes import (
    l2_to_l1_log_objects,
    stored_transaction,
    transaction_object,
)
from zkos_tw.sequencer.tip import ChainTip
from zkos_tw.sequencer.wal import ReplayRecord

ALICE = bytes.fromhex("00000000000000000000000000000000000a11ce")


def deposit(priority_id: int, value: int = 10**18):
    return l1_tx(to=ALICE, value=value, gas=200_000, max_fee=10, nonce=priority_id)


def upgrade():
    return l1_tx(to=ALICE, value=0, gas=200_000, max_fee=0, to_mint=0, tx_type=UPGRADE_TX_TYPE)


class L1BlockTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = MemoryReactorClock()
        self.reactor.advance(1_700_000_000)
        self.reactor.running = True
        self.queue = L1TransactionQueue()
        self.node = Node(self, self.reactor, l1_queue=self.queue)

    def test_block_one_waits_for_the_upgrade(self):
        """An L2 transaction alone does not make block 1 while the upgrade tx is unknown."""
        self.node.mempool.add(signed(0))
        self.queue.push(deposit(0))
        self.reactor.advance(1)
        self.assertEqual(self.node.sealed, [])
        self.queue.set_upgrade(upgrade())
        self.reactor.advance(0.1)
        [block] = self.node.sealed
        types = [t.tx.tx_type for t in block.transactions]
        self.assertEqual(types, [0x7E, 0x7F, 2])

    def test_priority_ids_are_gapless_and_survive_restart(self):
        self.queue.push(deposit(0))
        self.queue.push(deposit(2))  # id 1 is missing: 2 waits
        self.queue.set_upgrade(upgrade())
        self.reactor.advance(0.1)
        self.assertEqual([len(b.transactions) for b in self.node.sealed], [2])
        self.assertEqual(self.node.sequencer.tip.next_priority_id, 1)
        self.queue.push(deposit(1))
        self.queue.push(deposit(0))  # again: ignored, already included
        self.reactor.advance(0.1)
        second = self.node.sealed[1]
        self.assertEqual([t.tx.nonce for t in second.transactions], [1, 2])
        self.assertEqual(ChainTip.load(self.node.chain.storage).next_priority_id, 3)
        record = ReplayRecord.decode(self.node.chain.storage.wal_record(2))
        self.assertEqual(record.starting_l1_priority_id, 1)
        reader = StorageAccountReader(self.node.chain.storage)
        self.assertEqual(reader.balance_of(ALICE), 3 * 10**18)

    def test_receipt_and_transaction_records(self):
        self.queue.push(deposit(0))
        self.queue.set_upgrade(upgrade())
        self.reactor.advance(0.1)
        [block] = self.node.sealed
        tx_hash = block.transactions[1].tx_hash
        storage = self.node.chain.storage
        receipt = StoredReceipt.decode(storage.receipt(tx_hash))
        self.assertEqual((receipt.tx_type, receipt.succeeded), (0x7F, True))
        self.assertEqual(receipt.effective_gas_price, 10)
        [(shard, service, index, sender, key, value)] = receipt.l2_to_l1_logs
        self.assertEqual((sender[-2:], key, value[-1]), (b"\x80\x01", tx_hash, 1))
        tx = stored_transaction(storage.transaction(tx_hash))
        self.assertEqual(tx.hash, tx_hash)
        # The RPC shapes of reference §3.7.
        shown = transaction_object(
            tx, tx.initiator, tx_hash, block_hash=block.hash, block_number=1, index=1
        )
        self.assertEqual(shown["type"], "0x7f")
        self.assertEqual(shown["from"], shown["initiator"])
        self.assertEqual(shown["toMint"], hex(tx.to_mint))
        self.assertEqual(
            (shown["priorityId"], shown["gasPrice"], shown["v"]), ("0x0", "0xa", "0x0")
        )
        # Outside every account's nonce sequence, so clients see no replacement (issue #18).
        self.assertEqual(shown["nonce"], "0x1fffffffffffff")
        self.assertNotIn("protocolVersion", shown)
        upgrade_tx = stored_transaction(storage.transaction(block.transactions[0].tx_hash))
        shown_upgrade = transaction_object(
            upgrade_tx, upgrade_tx.initiator, upgrade_tx.hash, block_hash=block.hash, index=0
        )
        self.assertEqual(shown_upgrade["type"], "0x7e")
        self.assertEqual(shown_upgrade["protocolVersion"], hex(upgrade_tx.nonce))
        self.assertEqual(shown_upgrade["nonce"], "0x1fffffffffffff")
        self.assertNotIn("priorityId", shown_upgrade)
        self.assertEqual(shown["refundRecipient"], "0x" + "00" * 18 + "f00d")
        self.assertEqual(
            l2_to_l1_log_objects(receipt),
            [
                {
                    "l2_shard_id": 0,
                    "is_service": True,
                    "tx_number_in_block": 1,
                    "sender": "0x" + "00" * 18 + "8001",
                    "key": "0x" + tx_hash.hex(),
                    "value": "0x" + "00" * 31 + "01",
                }
            ],
        )

    def test_replay_with_l1_transactions(self):
        """A follower replays blocks that hold L1 transactions, with the same result."""
        self.queue.push(deposit(0))
        self.node.mempool.add(signed(0, value=5))
        self.queue.set_upgrade(upgrade())
        self.reactor.advance(0.1)
        self.queue.push(deposit(1))
        self.reactor.advance(0.1)
        follower = Node(self, self.reactor, l1_queue=L1TransactionQueue())
        for number in (1, 2):
            self.successResultOf(
                follower.replay(ReplayRecord.decode(self.node.chain.storage.wal_record(number)))
            )
            self.assertEqual(
                follower.chain.storage.block(number), self.node.chain.storage.block(number)
            )
        self.assertEqual(follower.sequencer.tip.next_priority_id, 2)
        self.assertEqual(StorageAccountReader(follower.chain.storage).balance_of(BOB), 5)


class ReopenTests(SynchronousTestCase):
    def test_tip_of_reopened_chain(self):
        reactor = MemoryReactorClock()
        reactor.advance(1_700_000_000)
        reactor.running = True
        queue = L1TransactionQueue()
        node = Node(self, reactor, l1_queue=queue)
        for i in range(3):
            queue.push(deposit(i))
        queue.set_upgrade(upgrade())
        reactor.advance(0.1)
        config = node.config
        node.sequencer.stopService()
        node.chain.close()
        chain = open_chain(config)
        self.addCleanup(chain.close)
        self.assertEqual(ChainTip.load(chain.storage).next_priority_id, 3)


class QueueTests(SynchronousTestCase):
    """``L1TransactionQueue`` as the watcher's ``IPriorityTxSink``."""

    def test_interface_order_and_backpressure(self):
        from zope.interface.verify import verifyObject

        from zkos_tw.interfaces import IPriorityTxSink

        queue = L1TransactionQueue(next_priority_id=5, capacity=2)
        self.assertTrue(verifyObject(IPriorityTxSink, queue))
        self.assertRaises(ValueError, queue.put, deposit(4))
        self.successResultOf(queue.put(deposit(5)))
        waiting = queue.put(deposit(6))  # now full: the watcher waits
        self.assertNoResult(waiting)
        self.assertEqual([tx.nonce for tx in queue.available(5)], [5, 6])
        queue.included_up_to(6)
        self.successResultOf(waiting)
        self.assertEqual((queue.next_priority_id, len(queue)), (7, 1))
