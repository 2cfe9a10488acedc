"""Tests for the sequencer's block formats, the block builder and the block sink."""

from __future__ import annotations

import os

from eth_account import Account
from eth_utils import to_checksum_address
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT
from zkos_tw.chain import open_chain
from zkos_tw.config import load_config
from zkos_tw.execution.exceptions import InvalidTransaction
from zkos_tw.execution.receipts import Log
from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.hashing import keccak256
from zkos_tw.sequencer.blocks import (
    BlockContext,
    BlockFormatError,
    BlockHeader,
    genesis_header,
    rolling_hash,
)
from zkos_tw.sequencer.builder import BlockBuilder, BlockFull
from zkos_tw.sequencer.receipts import ReceiptFormatError, StoredReceipt
from zkos_tw.sequencer.sink import BlockSink
from zkos_tw.sequencer.wal import ReplayRecord, WalFormatError
from zkos_tw.state.view import FlatState

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
RICH = bytes.fromhex("36615Cf349d7F6344891B1e7CA7C72883F5dc049")
BOB = bytes.fromhex("5A67EE02274D9Ec050d412b96fE810Be4D71e7A0")
COINBASE = bytes.fromhex("36615cf349d7f6344891b1e7ca7c72883f5dc049")


def context(number=1, timestamp=1_700_000_000, parent=b"\x11" * 32, **kwargs) -> BlockContext:
    hashes = (bytes(32),) * 255 + (parent,)
    return BlockContext(
        chain_id=270,
        number=number,
        block_hashes=hashes,
        timestamp=timestamp,
        coinbase=COINBASE,
        **kwargs,
    )


def transfer(nonce: int, value: int = 100, gas: int = 21_000, chain_id: int = 270, **fees):
    fees = fees or {"maxFeePerGas": 2000, "maxPriorityFeePerGas": 0}
    signed = Account.sign_transaction(
        {
            "to": to_checksum_address(BOB),
            "value": value,
            "gas": gas,
            "nonce": nonce,
            "chainId": chain_id,
            **fees,
        },
        KEY,
    )
    raw = bytes(signed.raw_transaction)
    tx = decode_transaction(raw)
    return raw, tx, recover_sender(tx)


class FormatTests(SynchronousTestCase):
    """Versioned records with golden bytes."""

    def test_genesis_header_hash(self):
        """The genesis header hashes to the reference's genesis block hash."""
        self.assertEqual(
            genesis_header().hash.hex(),
            "ef97917ce9bd9fa7d12ad6a8d81ea26c80ac1d727acc37cbb9799ae199788dc5",
        )

    def test_rolling_hash(self):
        """The first hash is taken as is; later ones are chained with keccak."""
        a, b = b"\xaa" * 32, b"\xbb" * 32
        self.assertEqual(rolling_hash([]), bytes(32))
        self.assertEqual(rolling_hash([a]), a)
        self.assertEqual(rolling_hash([a, b]), keccak256(a + b))

    def test_block_record_golden(self):
        """Block record v1 bytes are fixed, and decode back."""
        header = BlockHeader(
            b"\x01" * 32,
            b"\x02" * 20,
            b"\x03" * 32,
            7,
            100_000_000,
            21_000,
            1_700_000_000,
            1000,
            logs_bloom=b"\x04" * 256,
        )
        record = header.encode()
        self.assertEqual(record[0], 1)
        self.assertEqual(
            keccak256(record).hex(),
            "082ccb4dcabc87a549a78be14e982f21167aacf7a931345e71b6d428aaa4206e",
        )
        self.assertEqual(BlockHeader.decode(record), header)
        self.assertRaises(BlockFormatError, BlockHeader.decode, b"\x09" + record[1:])
        self.assertRaises(BlockFormatError, BlockHeader.decode, record[:-3])

    def test_receipt_record_golden(self):
        """Receipt record v1 bytes are fixed, and decode back."""
        receipt = StoredReceipt(
            2,
            True,
            42_000,
            21_000,
            1000,
            RICH,
            BOB,
            None,
            (Log(b"\x05" * 20, (b"\x06" * 32,), b"data"),),
        )
        record = receipt.encode()
        self.assertEqual(
            keccak256(record).hex(),
            "df7557b49320fb0a6306fae304a3639c36d16a237bca7151ef9b7457db7bd110",
        )
        self.assertEqual(StoredReceipt.decode(record), receipt)
        self.assertRaises(ReceiptFormatError, StoredReceipt.decode, b"")
        self.assertRaises(ReceiptFormatError, StoredReceipt.decode, b"\x01\xff\xff")

    def test_wal_record_round_trip(self):
        """WAL record v1 keeps the whole context and the raw transactions."""
        record = ReplayRecord(
            context(), 0, (b"\xf8tx1", b"\x02tx2"), 1_699_999_999, "0.1.0", b"\x07" * 32
        )
        encoded = record.encode()
        self.assertEqual(encoded[0], 1)
        self.assertEqual(ReplayRecord.decode(encoded), record)
        self.assertRaises(WalFormatError, ReplayRecord.decode, b"\x02" + encoded[1:])
        self.assertRaises(WalFormatError, ReplayRecord.decode, encoded[:40])


class BuilderTests(SynchronousTestCase):
    """Executing transactions into a block over the ZKsync OS state."""

    def setUp(self):
        self.chain = open_chain(
            load_config(
                {
                    "general_rocks_db_path": os.path.abspath(self.mktemp()),
                    "genesis_genesis_input_path": os.path.join(REPO_ROOT, "genesis.json"),
                }
            )
        )
        self.addCleanup(self.chain.close)
        storage = self.chain.storage
        self.state = FlatState(storage.state_at(0), storage.preimage_store())
        # Dev funding for the test: give the rich account a balance in the pre-state.
        self.state.set_balance(RICH, 10**21)

    def test_transfers_and_seal(self):
        """Transfers execute, gas and nonces add up, and the sealed header commits to them."""
        builder = BlockBuilder(context(), self.state, max_transactions=10)
        for nonce in range(3):
            raw, tx, sender = transfer(nonce)
            receipt = builder.add(raw, tx, sender)
            self.assertTrue(receipt.succeeded)
            self.assertEqual(receipt.gas_used, 21_000)
            self.assertEqual(receipt.effective_gas_price, 1000)
        block = builder.seal("timeout")
        self.assertEqual(block.header.gas_used, 63_000)
        self.assertEqual(
            block.header.transactions_root, rolling_hash([t.tx_hash for t in block.transactions])
        )
        self.assertEqual(self.state.get_balance(BOB), 300)
        self.assertEqual(self.state.get_nonce(RICH), 3)
        self.assertTrue(block.state_output.storage_writes)
        self.assertEqual(len(block.output_hash()), 32)

    def test_invalid_leaves_state(self):
        """A nonce-too-high transaction is refused with its rule, and nothing changes."""
        builder = BlockBuilder(context(), self.state, max_transactions=10)
        raw, tx, sender = transfer(5)
        with self.assertRaises(InvalidTransaction) as ctx:
            builder.add(raw, tx, sender)
        self.assertIn("nonce", str(ctx.exception))
        self.assertEqual(builder.transactions, [])
        self.assertEqual(self.state.get_nonce(RICH), 0)

    def test_seal_rules(self):
        """The count limit and the gas rule stop the block before executing the transaction."""
        builder = BlockBuilder(context(), self.state, max_transactions=1)
        builder.add(*transfer(0))
        with self.assertRaises(BlockFull) as ctx:
            builder.add(*transfer(1))
        self.assertEqual(ctx.exception.reason, "tx_count_limit")
        small = BlockBuilder(context(gas_limit=30_000), self.state, max_transactions=10)
        small.add(*transfer(1))
        with self.assertRaises(BlockFull) as ctx:
            small.add(*transfer(2))
        self.assertEqual(ctx.exception.reason, "gas_limit")


class SinkTests(SynchronousTestCase):
    """Persisting blocks: one write, readable afterwards with the same hash."""

    def test_persist_and_read_back(self):
        """A block goes to storage with its txs, receipts, logs and tree version."""
        data = os.path.abspath(self.mktemp())
        config = load_config(
            {
                "general_rocks_db_path": data,
                "genesis_genesis_input_path": os.path.join(REPO_ROOT, "genesis.json"),
            }
        )
        chain = open_chain(config)
        state = FlatState(chain.storage.state_at(0), chain.storage.preimage_store())
        state.set_balance(RICH, 10**21)
        ctx = context(parent=chain.genesis.block_hash)
        builder = BlockBuilder(ctx, state, max_transactions=10)
        raw, tx, sender = transfer(0)
        builder.add(raw, tx, sender)
        block = builder.seal("timeout")
        seen = []
        sink = BlockSink(chain.storage, chain.tree)
        sink.add_listener(seen.append)
        sink.persist(block, previous_timestamp=0)
        sink.notify(block)
        self.assertEqual(seen, [block])
        chain.close()

        chain = open_chain(config)
        self.addCleanup(chain.close)
        self.assertEqual(chain.last_block, 1)
        stored = chain.storage.block(1)
        self.assertEqual(stored.block_hash, block.hash)
        self.assertEqual(BlockHeader.decode(stored.block_record).hash, block.hash)
        self.assertEqual(stored.tx_hashes, (tx.hash,))
        receipt = StoredReceipt.decode(chain.storage.receipt(tx.hash))
        self.assertEqual(receipt.gas_used, 21_000)
        wal = ReplayRecord.decode(chain.storage.wal_record(1))
        self.assertEqual(wal.transactions, (raw,))
        self.assertEqual(wal.block_output_hash, block.output_hash())
        after = FlatState(chain.storage.state_at(1), chain.storage.preimage_store())
        self.assertEqual(after.get_balance(BOB), 100)
        self.assertEqual(chain.tree.latest_version, 1)
