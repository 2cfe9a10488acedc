"""A real chain's pubdata and commit info: stored pubdata decodes back to exactly each block's
state diff, and ``build_commit_batch_info`` agrees with the L1 model of ``tests/contracts``.

One chain for the whole module (LMDB, dev genesis, the real sequencer with a fake clock): block 1
holds the upgrade tx, a deposit and two transfers; block 2 a contract deployment (with a
constructor ``SSTORE``) and another deposit.
"""

from __future__ import annotations

from eth_account import Account
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.contracts import model
from tests.sequencer.test_backend_simulation import init_code
from tests.sequencer.test_l1_blocks import deposit, upgrade
from tests.sequencer.test_replay import Node
from tests.sequencer.test_service import KEY, signed
from zkos_tw.batcher.block_facts import BlockMemory, StorageBlockFacts
from zkos_tw.batcher.commitment import BatchDataMissing, build_commit_batch_info
from zkos_tw.batcher.logs_tree import logs_root_hash
from zkos_tw.batcher.pubdata import (
    AccountDiff,
    SlotDiff,
    decode_batch_pubdata,
    decode_block_pubdata,
    log_bytes,
)
from zkos_tw.execution.l1_transactions import PRIORITY_TX_TYPE, UPGRADE_TX_TYPE
from zkos_tw.merkle import state_commitment
from zkos_tw.sequencer.l1_queue import L1TransactionQueue
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.sequencer.wal import ReplayRecord
from zkos_tw.state import EMPTY_ACCOUNT, AccountProperties
from zkos_tw.state.keys import ZERO32

RUNTIME = bytes.fromhex("602a60005260206000f3")  # returns 42
CHAIN_ADDRESS = b"\xd1" * 20


def deployment(nonce: int) -> bytes:
    """A contract creation whose constructor stores 7 in slot 3."""
    data = bytes.fromhex("6007600355") + init_code(RUNTIME)
    tx = {
        "value": 0,
        "gas": 300_000,
        "nonce": nonce,
        "chainId": 270,
        "maxFeePerGas": 2000,
        "maxPriorityFeePerGas": 0,
        "data": data,
    }
    return bytes(Account.sign_transaction(tx, KEY).raw_transaction)


def pubdata_chain(case) -> tuple[MemoryReactorClock, L1TransactionQueue, Node]:
    """(clock, L1 queue, node) after two blocks of a fresh ``Node`` (LMDB, dev genesis, fake clock):
    block 1 holds the upgrade tx, a deposit and two transfers; block 2 a ``deployment(2)`` and
    another deposit."""
    reactor = MemoryReactorClock()
    reactor.advance(1_700_000_000)
    reactor.running = True
    queue = L1TransactionQueue()
    node = Node(case, reactor, l1_queue=queue)
    queue.push(deposit(0))
    node.mempool.add(signed(0, value=5))
    node.mempool.add(signed(1, value=6))
    queue.set_upgrade(upgrade())
    reactor.advance(0.1)
    queue.push(deposit(1))
    node.mempool.add(deployment(2))
    reactor.advance(1.1)
    return reactor, queue, node


class ChainPubdataTests(SynchronousTestCase):
    def setUp(self):
        self.node = node = pubdata_chain(self)[2]
        self.storage = node.chain.storage
        self.assertEqual(self.storage.last_block(), 2)
        self.blocks = node.sealed

    def _receipts(self, number):
        block = self.storage.block(number)
        return [StoredReceipt.decode(self.storage.receipt(h)) for h in block.tx_hashes]

    def test_pubdata_decodes_to_the_state_diff(self):
        """Each block's stored pubdata gives back exactly its writes, values and L2->L1 logs."""
        kinds = set()
        for sealed in self.blocks:
            n = sealed.number
            decoded, used = decode_block_pubdata(self.storage.block_pubdata(n))
            self.assertEqual(used, len(self.storage.block_pubdata(n)))
            self.assertEqual(decoded.block_hash, sealed.hash)
            before, after = self.storage.state_at(n - 1), self.storage.state_at(n)
            writes = sealed.state_output.storage_writes
            self.assertEqual([d.key for d in decoded.diffs], [w.key for w in writes])
            for diff, write in zip(decoded.diffs, writes, strict=True):
                initial = before.read(diff.key) or ZERO32
                if isinstance(diff, AccountDiff):
                    old = EMPTY_ACCOUNT
                    if initial != ZERO32:
                        old = AccountProperties.decode(self.storage.preimage(initial))
                    record = diff.apply(old)
                    self.assertEqual(record.hash(), write.value)
                    kinds.add("deploy" if diff.deployment else "account")
                else:
                    self.assertIsInstance(diff, SlotDiff)
                    self.assertEqual(diff.apply(initial), write.value)
                    kinds.add("slot")
                self.assertEqual(after.read(diff.key), write.value)
            logs = [log_bytes(e) for r in self._receipts(n) for e in r.l2_to_l1_logs]
            self.assertEqual(list(decoded.logs), logs)
            self.assertEqual(decoded.messages, ())
        self.assertEqual(kinds, {"deploy", "account", "slot"})

    def test_commit_info_matches_the_model(self):
        """The batch of blocks 1-2 equals what tests/contracts/model.py computes for it."""
        info = build_commit_batch_info(
            self.storage,
            self.node.chain.tree,
            batch_number=1,
            first_block=1,
            last_block=2,
            chain_id=270,
            chain_address=CHAIN_ADDRESS,
            pubdata_mode="Rollup",
        )
        receipts = self._receipts(1) + self._receipts(2)
        hashes = self.storage.block(1).tx_hashes + self.storage.block(2).tx_hashes
        types = [r.tx_type for r in receipts]
        l1_hashes = tuple(h for h, t in zip(hashes, types, strict=True) if t == PRIORITY_TX_TYPE)
        [upgrade_hash] = [h for h, t in zip(hashes, types, strict=True) if t == UPGRADE_TX_TYPE]
        self.assertEqual(len(l1_hashes), 2)
        logs = [log_bytes(e) for r in receipts for e in r.l2_to_l1_logs]
        self.assertEqual(len(logs), 3)  # the upgrade and both deposits
        pubdata = self.storage.block_pubdata(1) + self.storage.block_pubdata(2)
        self.assertEqual(len(decode_batch_pubdata(pubdata)), 2)
        first = ReplayRecord.decode(self.storage.wal_record(1)).context
        last = ReplayRecord.decode(self.storage.wal_record(2)).context
        expected = model.CommitBatch(
            number=1,
            state_commitment=info.new_state_commitment,
            l1_tx_hashes=l1_hashes,
            chain_id=270,
            first_ts=first.timestamp,
            last_ts=last.timestamp,
            pubdata=pubdata,
            l2_logs_root=logs_root_hash(logs),
            upgrade_tx_hash=upgrade_hash,
        )
        self.assertEqual(info.abi_tuple(), expected.as_tuple())
        self.assertEqual(info.commitment(), expected.commitment())
        self.assertEqual(info.stored().hash(), expected.stored().hash())
        self.assertEqual(info.upgrade_tx_hash, upgrade_hash)
        self.assertEqual(info.chain_address, CHAIN_ADDRESS)
        # The state commitment is the chain's own after block 2 (tree + hash window).
        tree = self.node.chain.tree
        window = last.next_hashes(self.storage.block(2).block_hash)
        self.assertEqual(
            info.new_state_commitment,
            state_commitment(tree.root(2), tree.leaf_count(2), 2, window, last.timestamp),
        )
        validium = build_commit_batch_info(
            self.storage,
            tree,
            batch_number=1,
            first_block=1,
            last_block=2,
            chain_id=270,
            chain_address=CHAIN_ADDRESS,
            pubdata_mode="Validium",
        )
        self.assertEqual(validium.operator_da_input, ZERO32)
        self.assertEqual(validium.commitment(), info.commitment())

    def test_remembered_blocks_give_the_same_info_and_facts(self):
        """``BlockMemory`` over the sealed blocks: the commit info and the block facts are those
        built from storage alone, also when only one of the blocks is remembered."""
        kwargs = dict(batch_number=1, first_block=1, last_block=2, chain_id=270)
        kwargs.update(chain_address=CHAIN_ADDRESS, pubdata_mode="Rollup")
        tree = self.node.chain.tree
        stored = build_commit_batch_info(self.storage, tree, **kwargs)
        for remembered in ([1, 2], [1], [2]):
            memory = BlockMemory()
            for sealed in self.blocks:
                if sealed.number in remembered:
                    memory.block_stored(sealed)
            info = build_commit_batch_info(self.storage, tree, summaries=memory.summary, **kwargs)
            self.assertEqual(info, stored)

            def size(n):
                return len(self.storage.block_pubdata(n))

            for n in (1, 2):
                self.assertEqual(
                    StorageBlockFacts(self.storage, size, memory=memory)(n),
                    StorageBlockFacts(self.storage, size)(n),
                )

    def test_missing_data(self):
        """A block that is not stored is a clear error, not a wrong commitment."""
        with self.assertRaises(BatchDataMissing):
            build_commit_batch_info(
                self.storage,
                self.node.chain.tree,
                batch_number=2,
                first_block=3,
                last_block=3,
                chain_id=270,
                chain_address=CHAIN_ADDRESS,
            )
