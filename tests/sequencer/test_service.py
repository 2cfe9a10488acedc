"""Tests for the ``Sequencer`` service: real mempool, real LMDB, fake clock, work run inline."""

from __future__ import annotations

import os

from eth_account import Account
from eth_utils import to_checksum_address
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT
from zkos_tw.chain import open_chain
from zkos_tw.config import load_config
from zkos_tw.sequencer.accounts import StorageAccountReader
from zkos_tw.sequencer.blocks import BlockHeader
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.sequencer.mempool_errors import NonceTooLow
from zkos_tw.sequencer.service import Sequencer
from zkos_tw.sequencer.sink import BlockSink

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
RICH = bytes.fromhex("36615Cf349d7F6344891B1e7CA7C72883F5dc049")
BOB = bytes.fromhex("5A67EE02274D9Ec050d412b96fE810Be4D71e7A0")


def signed(nonce: int, value: int = 1, gas: int = 21_000, max_fee: int = 2000) -> bytes:
    tx = {
        "to": to_checksum_address(BOB),
        "value": value,
        "gas": gas,
        "nonce": nonce,
        "chainId": 270,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": 0,
    }
    return bytes(Account.sign_transaction(tx, KEY).raw_transaction)


def inline(f, *args):
    return defer.maybeDeferred(f, *args)


class SequencerTests(SynchronousTestCase):
    """Block production from the pool into storage."""

    def setUp(self):
        self.reactor = MemoryReactorClock()
        self.reactor.advance(1_700_000_000)
        self.reactor.running = True
        self.config = load_config(
            {
                "general_rocks_db_path": os.path.abspath(self.mktemp()),
                "genesis_genesis_input_path": os.path.join(REPO_ROOT, "dev-genesis.json"),
                "sequencer_max_transactions_in_block": "5",
            }
        )
        self.chain = open_chain(self.config)
        self.addCleanup(self.chain.close)
        self.reader = StorageAccountReader(self.chain.storage)
        self.mempool = Mempool(
            self.reader,
            chain_id=270,
            block_gas_limit=self.config.sequencer.block_gas_limit,
        )
        self.sink = BlockSink(self.chain.storage, self.chain.tree)
        self.sink.add_listener(self.reader.block_stored)  # as the node wires it
        self.sealed = []
        self.sequencer = Sequencer(
            self.reactor,
            self.config.sequencer,
            270,
            self.chain,
            self.mempool,
            self.sink,
            on_sealed=self.sealed.append,
            _in_thread=inline,
        )
        self.sequencer.startService()
        self.addCleanup(self.sequencer.stopService)

    def test_seals_after_block_time(self):
        """Transactions wait for block_time after the first one, then one block holds them."""
        for nonce in range(3):
            self.mempool.add(signed(nonce))
        self.assertEqual(self.sealed, [])
        self.reactor.advance(0.1)
        self.assertEqual(len(self.sealed), 1)
        block = self.sealed[0]
        self.assertEqual(
            (block.number, len(block.transactions), block.seal_reason), (1, 3, "timeout")
        )
        self.assertEqual(self.mempool.pending_count(), 0)
        stored = self.chain.storage.block(1)
        self.assertEqual(stored.block_hash, block.hash)
        header = BlockHeader.decode(stored.block_record)
        self.assertEqual(header.parent_hash, self.chain.genesis.block_hash)
        self.assertEqual(header.timestamp, 1_700_000_000)
        self.assertEqual(StorageAccountReader(self.chain.storage).balance_of(BOB), 3)

    def test_count_limit_and_next_block(self):
        """Seven transactions: a block of five (count limit) then one of two, chained."""
        for nonce in range(7):
            self.mempool.add(signed(nonce))
        self.assertEqual([len(b.transactions) for b in self.sealed], [5])
        self.assertEqual(self.sealed[0].seal_reason, "tx_count_limit")
        self.reactor.advance(0.1)
        self.assertEqual([len(b.transactions) for b in self.sealed], [5, 2])
        self.assertEqual(self.sealed[1].header.parent_hash, self.sealed[0].hash)
        self.assertEqual(self.chain.storage.last_block(), 2)
        self.assertEqual(StorageAccountReader(self.chain.storage).nonce_of(RICH), 7)

    def test_reader_answers_from_the_newest_block(self):
        """After each block the pool's reader gives the block's senders and recipients the same
        nonce and balance as a fresh reader over storage (the block's own records, no LMDB),
        and accounts the block did not touch still come from storage."""
        untouched = b"\x77" * 20
        for nonce in range(7):
            self.mempool.add(signed(nonce))
        self.reactor.advance(0.1)
        self.assertEqual(len(self.sealed), 2)
        fresh = StorageAccountReader(self.chain.storage)
        for address in (RICH, BOB, untouched):
            self.assertEqual(self.reader.nonce_of(address), fresh.nonce_of(address))
            self.assertEqual(self.reader.balance_of(address), fresh.balance_of(address))
        self.assertEqual(self.reader.nonce_of(RICH), 7)
        self.assertIsNotNone(self.reader._written(RICH))
        self.assertIsNone(self.reader._written(untouched))

    def test_no_empty_blocks(self):
        """Without transactions, time passes and nothing is produced."""
        self.reactor.advance(5)
        self.assertEqual(self.sealed, [])
        self.assertEqual(self.chain.storage.last_block(), 0)

    def test_fee_cap_below_base_fee_waits(self):
        """A transaction whose fee cap is under the base fee is kept but never mined (§14.2)."""
        try:
            self.mempool.add(signed(0, max_fee=500))
        except Exception as e:  # noqa: BLE001 - the pool may also refuse it outright
            self.assertIn("fee", str(e))
            return
        self.reactor.advance(1)
        self.assertEqual(self.sealed, [])
        self.assertEqual(self.chain.storage.last_block(), 0)

    def test_pool_reads_accounts_after_the_block(self):
        """After a block, the pool's nonces come from the new block (not a stale view)."""
        for nonce in range(2):
            self.mempool.add(signed(nonce))
        self.reactor.advance(0.1)
        self.assertEqual(self.reader.nonce_of(RICH), 2)
        self.assertRaises(NonceTooLow, self.mempool.add, signed(1))
        # Block 2 seals at the count limit (5) with 2..6 as the fifth is added; the pool drops
        # them at once only if it re-reads the nonce from block 2, not from a view of block 1.
        for nonce in range(2, 7):
            self.mempool.add(signed(nonce))
        self.assertEqual([len(b.transactions) for b in self.sealed], [2, 5])
        self.assertEqual((self.mempool.pending_count(), len(self.mempool)), (0, 0))
        self.assertEqual(self.reader.nonce_of(RICH), 7)

    def test_stop_seals_what_ran(self):
        """Stopping while a block waits for its time: the executed transactions are stored."""
        for nonce in range(2):
            self.mempool.add(signed(nonce))
        self.successResultOf(defer.maybeDeferred(self.sequencer.stopService))
        self.assertEqual([(b.number, b.seal_reason) for b in self.sealed], [(1, "shutdown")])
        self.assertEqual(self.chain.storage.last_block(), 1)
        self.assertEqual(StorageAccountReader(self.chain.storage).nonce_of(RICH), 2)
