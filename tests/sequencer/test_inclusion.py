"""``InclusionWait``: ``eth_sendRawTransaction`` answered once the tx's block is stored (--dev),
and ``rpc_send_raw_transaction_wait_timeout`` choosing when it is on."""

from __future__ import annotations

import os
from types import SimpleNamespace

from eth_account import Account
from eth_utils import to_checksum_address
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT
from zkos_tw.chain import open_chain
from zkos_tw.config import DEV_INCLUSION_WAIT, load_config
from zkos_tw.sequencer.accounts import StorageAccountReader
from zkos_tw.sequencer.admission import Admission
from zkos_tw.sequencer.backend import NodeBackend
from zkos_tw.sequencer.inclusion import InclusionWait
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.sequencer.service import Sequencer
from zkos_tw.sequencer.sink import BlockSink

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
BOB = "0x5A67EE02274D9Ec050d412b96fE810Be4D71e7A0"
H1, H2 = b"\x01" * 32, b"\x02" * 32


def block_of(*hashes: bytes):
    """A stand-in ``SealedBlock``: only ``transactions[i].tx_hash`` is read."""
    return SimpleNamespace(transactions=[SimpleNamespace(tx_hash=h) for h in hashes])


class InclusionWaitTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.inclusion = InclusionWait(self.clock, 10.0)

    def test_fires_when_its_block_is_stored(self):
        """The answer is held until a stored block holds the hash, then is the hash."""
        answer = self.inclusion.wait(H1)
        self.inclusion.block_stored(block_of(H2))
        self.assertNoResult(answer)
        self.inclusion.block_stored(block_of(H2, H1))
        self.assertEqual(self.successResultOf(answer), H1)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.inclusion.pending(), 0)

    def test_timeout_answers_the_hash(self):
        """Without the block, the hash is answered at the timeout and nothing is kept."""
        answer = self.inclusion.wait(H1)
        self.clock.advance(9.9)
        self.assertNoResult(answer)
        self.clock.advance(0.1)
        self.assertEqual(self.successResultOf(answer), H1)
        self.assertEqual(self.inclusion.pending(), 0)
        self.inclusion.block_stored(block_of(H1))  # a late block is harmless

    def test_two_waits_for_one_hash(self):
        """A resubmission waits too; one timing out leaves the other waiting for the block."""
        first = self.inclusion.wait(H1)
        self.clock.advance(5)
        second = self.inclusion.wait(H1)
        self.clock.advance(5)
        self.assertEqual(self.successResultOf(first), H1)
        self.assertNoResult(second)
        self.inclusion.block_stored(block_of(H1))
        self.assertEqual(self.successResultOf(second), H1)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class SendWaitsForBlockTests(SynchronousTestCase):
    """``NodeBackend.send_raw_transaction`` through admission, a real sequencer and LMDB."""

    def setUp(self):
        self.reactor = MemoryReactorClock()
        self.reactor.advance(1_700_000_000)
        self.reactor.running = True
        config = load_config(
            {
                "general_rocks_db_path": os.path.abspath(self.mktemp()),
                "genesis_genesis_input_path": os.path.join(REPO_ROOT, "dev-genesis.json"),
            }
        )
        self.chain = open_chain(config)
        self.addCleanup(self.chain.close)
        reader = StorageAccountReader(self.chain.storage)
        mempool = Mempool(reader, chain_id=270, block_gas_limit=100_000_000)
        self.inclusion = InclusionWait(self.reactor, 10.0)
        sink = BlockSink(self.chain.storage, self.chain.tree)
        sink.add_listener(reader.block_stored)
        sink.add_listener(self.inclusion.block_stored)
        sequencer = Sequencer(
            self.reactor,
            config.sequencer,
            270,
            self.chain,
            mempool,
            sink,
            _in_thread=lambda f, *a: defer.maybeDeferred(f, *a),
        )
        sequencer.startService()
        self.addCleanup(sequencer.stopService)
        self.backend = NodeBackend(
            chain=self.chain,
            mempool=mempool,
            genesis_document={},
            chain_id=270,
            bridgehub_address="0x" + "00" * 20,
            eth_call_gas=10_000_000,
            admission=Admission(
                self.reactor, mempool, _in_thread=lambda f, *a: defer.maybeDeferred(f, *a)
            ),
            inclusion=self.inclusion,
            now=self.reactor.seconds,
            _in_thread=lambda f, *a: defer.maybeDeferred(f, *a),
        )

    def test_answer_comes_with_the_receipt(self):
        """The hash is answered only once its receipt can be read: a client's first
        ``eth_getTransactionReceipt`` after the send finds it."""
        tx = {
            "to": to_checksum_address(BOB),
            "value": 1,
            "gas": 21_000,
            "nonce": 0,
            "chainId": 270,
            "maxFeePerGas": 2000,
            "maxPriorityFeePerGas": 0,
        }
        raw = bytes(Account.sign_transaction(tx, KEY).raw_transaction)
        answer = self.backend.send_raw_transaction(raw)
        self.reactor.advance(0)  # admission's turn: the pool takes the tx
        self.assertNoResult(answer)
        self.assertEqual(self.inclusion.pending(), 1)
        self.reactor.advance(0.1)  # the block time: the sequencer seals and stores the block
        tx_hash = self.successResultOf(answer)
        self.assertIsNotNone(self.chain.storage.receipt(tx_hash))
        self.assertEqual(self.inclusion.pending(), 0)


class ConfigTests(SynchronousTestCase):
    def test_on_in_dev_only_by_default(self):
        """Unset: the dev wait under --dev, none otherwise; a set value wins in both."""
        self.assertEqual(
            load_config({}, dev_mode=True).rpc.inclusion_wait(True), DEV_INCLUSION_WAIT
        )
        self.assertEqual(load_config({}).rpc.inclusion_wait(False), 0.0)
        off = load_config({"rpc_send_raw_transaction_wait_timeout": "0s"}, dev_mode=True)
        self.assertEqual(off.rpc.inclusion_wait(True), 0.0)
        on = load_config({"rpc_send_raw_transaction_wait_timeout": "3s"})
        self.assertEqual(on.rpc.inclusion_wait(False), 3.0)
