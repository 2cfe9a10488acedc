"""``NodeBackend`` simulation on a real chain (LMDB, sequencer, fake clock): the context calls
and estimates run in (#18) and the L1 estimate floor (#17, reference §3.5)."""

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
from zkos_tw.execution.interpreter import create_address
from zkos_tw.rpc.codec import CallRequest
from zkos_tw.sequencer.accounts import StorageAccountReader
from zkos_tw.sequencer.backend import NodeBackend
from zkos_tw.sequencer.blocks import BlockHeader
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.sequencer.service import Sequencer
from zkos_tw.sequencer.sink import BlockSink

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
RICH = bytes.fromhex("36615Cf349d7F6344891B1e7CA7C72883F5dc049")
BOB = bytes.fromhex("5A67EE02274D9Ec050d412b96fE810Be4D71e7A0")
NOBODY = bytes.fromhex("00000000000000000000000000000000deadbeef")

# ``if (block.timestamp > sload(0)) sstore(0, block.timestamp)``: more work once time moved,
# like Uniswap V2's price accumulators.
POKE = bytes.fromhex("4260005410600957005b4260005500")
# Returns ``abi.encode(block.number, block.timestamp)``.
CLOCK = bytes.fromhex("436000524260205260406000f3")


def init_code(runtime: bytes) -> bytes:
    """Creation code that returns ``runtime`` (at most 32 bytes)."""
    n = len(runtime)
    return (
        bytes([0x5F + n])
        + runtime
        + bytes([0x60, 0, 0x52, 0x60, n, 0x60, 32 - n, 0xF3])  # mstore 0; return(32-n, n)
    )


def inline(f, *args):
    return defer.maybeDeferred(f, *args)


class BackendSimulationTests(SynchronousTestCase):
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
        self.mempool = Mempool(reader, chain_id=270, block_gas_limit=100_000_000)
        sink = BlockSink(self.chain.storage, self.chain.tree)
        sink.add_listener(reader.block_stored)
        self.sealed = []
        self.sequencer = Sequencer(
            self.reactor,
            config.sequencer,
            270,
            self.chain,
            self.mempool,
            sink,
            on_sealed=self.sealed.append,
            _in_thread=inline,
        )
        self.sequencer.startService()
        self.addCleanup(self.sequencer.stopService)
        self.backend = NodeBackend(
            chain=self.chain,
            mempool=self.mempool,
            genesis_document={},
            chain_id=270,
            bridgehub_address="0x" + "00" * 20,
            eth_call_gas=10_000_000,
            now=self.reactor.seconds,
            _in_thread=inline,
        )
        self.nonce = 0
        self.poke = create_address(RICH, 0)
        self.clock = create_address(RICH, 1)
        self.send(None, init_code(POKE), gas=200_000)
        self.send(None, init_code(CLOCK), gas=200_000)
        self.mine()

    def send(self, to, data=b"", gas=100_000):
        tx = {
            "to": to and to_checksum_address(to),
            "data": data,
            "value": 0,
            "gas": gas,
            "nonce": self.nonce,
            "chainId": 270,
            "maxFeePerGas": 2000,
            "maxPriorityFeePerGas": 0,
        }
        if to is None:
            del tx["to"]
        self.nonce += 1
        self.mempool.add(bytes(Account.sign_transaction(tx, KEY).raw_transaction))

    def mine(self):
        """Let the running sequencer seal what the pool holds (its block time is 0.1 s)."""
        count = len(self.sealed)
        self.reactor.advance(0.1)
        self.assertEqual(len(self.sealed), count + 1)
        return self.sealed[-1]

    def receipt(self, block, index=0):
        return StoredReceipt.decode(self.chain.storage.receipt(block.transactions[index].tx_hash))

    def estimate(self, request, number=None, next_block=True):
        if number is None:
            number = self.backend.latest_block_number()
        return self.successResultOf(self.backend.estimate_gas(request, number, next_block))

    def test_call_runs_in_the_next_block(self):
        """``latest``: number = newest + 1 and the time now; an explicit block: its own."""
        latest = self.backend.latest_block_number()
        header = BlockHeader.decode(self.chain.storage.block(latest).block_record)
        self.reactor.advance(7)
        request = CallRequest(to=self.clock)
        out = self.successResultOf(self.backend.call(request, latest, True))
        self.assertEqual(
            (int.from_bytes(out[:32], "big"), int.from_bytes(out[32:], "big")),
            (latest + 1, int(self.reactor.seconds())),
        )
        out = self.successResultOf(self.backend.call(request, latest, False))
        self.assertEqual(
            (int.from_bytes(out[:32], "big"), int.from_bytes(out[32:], "big")),
            (latest, header.timestamp),
        )

    def test_next_block_sees_the_newest_hash(self):
        """BLOCKHASH(newest) is the newest block's hash in the next block's context, and zero
        in the newest block's own."""
        latest = self.backend.latest_block_number()
        # Creation code returning BLOCKHASH(latest): a simulated CREATE answers the code it
        # deploys, so the hash itself.
        code = bytes([0x60, latest, 0x40, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xF3])
        out = self.successResultOf(self.backend.call(CallRequest(input=code), latest, True))
        self.assertEqual(out, self.chain.storage.block(latest).block_hash)
        out = self.successResultOf(self.backend.call(CallRequest(input=code), latest, False))
        self.assertEqual(out, bytes(32))

    def test_estimate_holds_when_time_moves(self):
        """An estimate made in the same second as the newest block still suffices when the
        transaction lands a second later and does more work (the Uniswap ``sync`` case)."""
        self.send(self.poke)
        self.mine()  # sload(0) = now
        request = CallRequest(from_=RICH, to=self.poke)
        latest = self.backend.latest_block_number()
        estimate = self.estimate(request)
        own_block = self.estimate(request, latest, next_block=False)
        self.assertLess(own_block, estimate)  # the old answer did not see the write
        self.reactor.advance(1)
        self.send(self.poke, gas=own_block)
        self.assertFalse(self.receipt(self.mine()).succeeded)  # what users saw (#18)
        self.reactor.advance(1)
        self.send(self.poke, gas=estimate)
        self.assertTrue(self.receipt(self.mine()).succeeded)

    def test_estimate_in_the_same_second(self):
        """Sent at once into the same second, the estimate suffices too."""
        self.send(self.poke)
        self.mine()
        estimate = self.estimate(CallRequest(from_=RICH, to=self.poke))
        self.send(self.poke, gas=estimate)
        self.assertTrue(self.receipt(self.mine()).succeeded)

    def test_l1_estimate_floor(self):
        """A 0x7f request never estimates under 200,000 (reference §3.5), for a plain transfer
        from an account without funds (the value is minted) and for a contract call."""
        transfer = CallRequest(from_=NOBODY, to=BOB, value=10**18, transaction_type=0x7F)
        self.assertEqual(self.estimate(transfer), 200_000)
        call = CallRequest(from_=NOBODY, to=self.poke, transaction_type=0x7F)
        self.assertGreaterEqual(self.estimate(call), 200_000)
        self.assertEqual(
            self.estimate(CallRequest(from_=RICH, to=BOB, value=1)), 21_000
        )  # L2: the intrinsic gas
