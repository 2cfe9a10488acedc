"""``Replay`` commands: a recorded block executed again through the sequencer's one block path."""

from __future__ import annotations

import dataclasses
import os

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT
from tests.sequencer.test_service import BOB, RICH, inline, signed
from zkos_tw.chain import open_chain
from zkos_tw.config import load_config
from zkos_tw.sequencer.accounts import StorageAccountReader
from zkos_tw.sequencer.commands import ReplayDivergence
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.sequencer.service import Sequencer
from zkos_tw.sequencer.sink import BlockSink
from zkos_tw.sequencer.wal import ReplayRecord


class Node:
    """A chain in a fresh LMDB directory with its pool and sequencer (work runs inline)."""

    def __init__(self, case: SynchronousTestCase, reactor, l1_queue=None):
        self.config = config = load_config(
            {
                "general_rocks_db_path": os.path.abspath(case.mktemp()),
                "genesis_genesis_input_path": os.path.join(REPO_ROOT, "dev-genesis.json"),
                "sequencer_max_transactions_in_block": "4",
            }
        )
        self.chain = open_chain(config)
        case.addCleanup(self.chain.close)
        self.mempool = Mempool(
            StorageAccountReader(self.chain.storage),
            chain_id=270,
            block_gas_limit=config.sequencer.block_gas_limit,
        )
        self.sealed = []
        self.sequencer = Sequencer(
            reactor,
            config.sequencer,
            270,
            self.chain,
            self.mempool,
            BlockSink(self.chain.storage, self.chain.tree),
            on_sealed=self.sealed.append,
            l1_queue=l1_queue,
            _in_thread=inline,
        )
        self.sequencer.startService()
        case.addCleanup(self.sequencer.stopService)

    def record(self, number: int) -> ReplayRecord:
        return ReplayRecord.decode(self.chain.storage.wal_record(number))

    def replay(self, record: ReplayRecord):
        return self.sequencer.replay_block(record)


class ReplayTests(SynchronousTestCase):
    """A follower re-executes the main node's WAL records and ends with the same chain."""

    def setUp(self):
        self.reactor = MemoryReactorClock()
        self.reactor.advance(1_700_000_000)
        self.reactor.running = True
        self.main = Node(self, self.reactor)
        for nonce in range(6):  # a full block of 4 (count limit), then one of 2 (timeout)
            self.main.mempool.add(signed(nonce, value=nonce + 1))
        self.reactor.advance(0.1)
        self.assertEqual([len(b.transactions) for b in self.main.sealed], [4, 2])
        self.follower = Node(self, self.reactor)

    def test_replay_gives_the_same_chain(self):
        """Same hashes, same receipts, same state and tree root; seal reason ``replay``."""
        for number in (1, 2):
            self.successResultOf(self.follower.replay(self.main.record(number)))
        for number in (1, 2):
            ours, theirs = self.follower.chain.storage, self.main.chain.storage
            self.assertEqual(ours.block(number), theirs.block(number))
            self.assertEqual(ours.wal_record(number), theirs.wal_record(number))
            for tx_hash in ours.block(number).tx_hashes:
                self.assertEqual(ours.receipt(tx_hash), theirs.receipt(tx_hash))
        self.assertEqual([b.seal_reason for b in self.follower.sealed], ["replay", "replay"])
        self.assertEqual(self.follower.chain.tree.root(), self.main.chain.tree.root())
        reader = StorageAccountReader(self.follower.chain.storage)
        self.assertEqual((reader.balance_of(BOB), reader.nonce_of(RICH)), (21, 6))
        # A follower does not take from its own pool while replaying.
        self.assertEqual(self.follower.mempool.pending_count(), 0)

    def test_out_of_order_is_refused(self):
        """Block 2 before block 1: a divergence, nothing stored."""
        failure = self.failureResultOf(self.follower.replay(self.main.record(2)), ReplayDivergence)
        self.assertIn("next block is 1", str(failure.value))
        self.assertEqual(self.follower.chain.storage.last_block(), 0)

    def test_wrong_parent_is_refused(self):
        record = self.main.record(1)
        hashes = record.context.block_hashes[:-1] + (b"\x11" * 32,)
        context = dataclasses.replace(record.context, block_hashes=hashes)
        failure = self.failureResultOf(
            self.follower.replay(dataclasses.replace(record, context=context)), ReplayDivergence
        )
        self.assertIn("recorded parent 0x1111", str(failure.value))

    def test_different_output_is_refused_and_state_reset(self):
        """A record whose output hash differs is not stored; the next good one still applies."""
        record = self.main.record(1)
        bad = dataclasses.replace(record, block_output_hash=b"\x22" * 32)
        failure = self.failureResultOf(self.follower.replay(bad), ReplayDivergence)
        self.assertIn("output hash", str(failure.value))
        self.assertEqual(self.follower.chain.storage.last_block(), 0)
        self.successResultOf(self.follower.replay(record))
        self.assertEqual(self.follower.chain.storage.block(1), self.main.chain.storage.block(1))

    def test_refused_transaction_is_a_divergence(self):
        """A recorded transaction the VM refuses (here: its nonce is used twice) diverges."""
        record = self.main.record(1)
        twice = dataclasses.replace(record, transactions=(record.transactions[0],) * 2)
        failure = self.failureResultOf(self.follower.replay(twice), ReplayDivergence)
        self.assertIn("was refused on replay", str(failure.value))
        self.assertEqual(failure.value.field, "transactions[1]")  # the second copy
        self.assertEqual(self.follower.chain.storage.last_block(), 0)
        self.successResultOf(self.follower.replay(record))
        self.assertEqual(self.follower.chain.storage.last_block(), 1)

    def test_undecodable_transaction_is_a_divergence(self):
        record = self.main.record(1)
        garbage = dataclasses.replace(record, transactions=(b"\x02\xc0",))
        failure = self.failureResultOf(self.follower.replay(garbage), ReplayDivergence)
        self.assertIn("transaction 0 cannot be decoded", str(failure.value))
