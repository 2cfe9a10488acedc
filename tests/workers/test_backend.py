"""``WorkerBackend`` over in-memory storage and a real link to a real gateway and pool:
admission through the worker, pool queries, and the node's L1 batch progress from HEAD."""

from __future__ import annotations

from twisted.internet.defer import ensureDeferred, succeed
from twisted.internet.testing import MemoryReactorClock
from twisted.test.iosim import FakeTransport, connect
from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer.mempool_helpers import ADDRESSES, BLOCK_GAS_LIMIT, CHAIN_ID, FakeAccounts, sign
from zkos_tw.hashing import keccak256
from zkos_tw.rpc.errors import BackendError
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.testing.memory_storage import MemoryStorage
from zkos_tw.workers.backend import WorkerBackend
from zkos_tw.workers.frames import Head
from zkos_tw.workers.gateway import SequencerGateway
from zkos_tw.workers.link import SequencerLink


class WorkerBackendTests(SynchronousTestCase):
    def setUp(self):
        self.clock = MemoryReactorClock()
        self.mempool = Mempool(FakeAccounts(), chain_id=CHAIN_ID, block_gas_limit=BLOCK_GAS_LIMIT)
        self.head = Head(0, 0, 0)
        gateway = SequencerGateway(self.mempool, lambda: self.head)
        self.gateway = gateway
        link = SequencerLink(self.clock)
        server = gateway.factory("rpc-worker-0").buildProtocol(None)
        self.pump = connect(server, FakeTransport(server, True), link, FakeTransport(link, False))
        self.backend = self.worker_backend(link)

    def worker_backend(self, link: SequencerLink, **options) -> WorkerBackend:
        """A ``WorkerBackend`` over fresh in-memory storage and ``link``, on the test clock."""
        return WorkerBackend(
            storage=MemoryStorage(),
            link=link,
            block_gas_limit=BLOCK_GAS_LIMIT,
            max_input_bytes=128 * 1024,
            genesis_document={},
            chain_id=CHAIN_ID,
            bridgehub_address="0x" + "00" * 20,
            eth_call_gas=10_000_000,
            now=self.clock.seconds,
            **options,
        )

    def flush(self):
        self.clock.advance(0)
        self.pump.flush()

    def test_send_goes_to_the_pool_with_the_recovered_sender(self):
        raw = sign(0, 0)
        sent = self.backend.send_raw_transaction(raw)
        self.flush()
        self.assertEqual(self.successResultOf(sent), keccak256(raw))
        self.assertEqual(self.mempool.get(keccak256(raw)).sender, ADDRESSES[0])
        nonce = self.backend.pending_nonce(ADDRESSES[0])
        pooled = ensureDeferred(self.backend.transaction_by_hash(keccak256(raw)))
        raw_again = ensureDeferred(self.backend.raw_transaction_by_hash(keccak256(raw)))
        self.flush()
        self.assertEqual(self.successResultOf(nonce), 1)
        self.assertEqual(self.successResultOf(pooled)["from"], "0x" + ADDRESSES[0].hex())
        self.assertEqual(self.successResultOf(raw_again), raw)

    def test_stateless_errors_answered_by_the_worker(self):
        """Undecodable bytes, or a wrong chain id, never reach the node: the pool's texts."""
        with self.assertRaises(BackendError) as ctx:
            self.backend.send_raw_transaction(b"\x02\x01")
        self.assertEqual(ctx.exception.message, "failed to decode signed transaction")
        with self.assertRaises(BackendError) as ctx:
            self.backend.send_raw_transaction(sign(0, 0, chainId=CHAIN_ID + 1))
        self.assertIn("chain", ctx.exception.message)
        self.assertEqual(len(self.mempool), 0)

    def test_unknown_transaction_is_none(self):
        missing = ensureDeferred(self.backend.transaction_by_hash(bytes(32)))
        self.flush()
        self.assertIsNone(self.successResultOf(missing))

    def test_batch_progress_from_head(self):
        """Without L1 batches safe / finalized are the newest block; with them the node's."""
        self.flush()
        self.assertEqual(self.backend.safe_block_number(), 0)
        self.assertIsNone(self.backend.batch_progress())
        self.head = Head(0, 0, 0, 2, 1)
        self.gateway.block_stored(None)
        self.flush()
        progress = self.backend.batch_progress()
        self.assertEqual((progress.last_committed_batch, progress.last_executed_batch), (2, 1))
        self.assertEqual(self.backend.finalized_block_number(), 0)

    def test_external_node_forwards_to_the_main_node(self):
        """An EN's worker (``forward_transactions``) hands the bytes to the main node as they
        came, with no checks of its own, and answers what the main node answered; the EN's
        pool is not involved."""
        forwarded = []

        def forward(raw):
            forwarded.append(raw)
            return succeed(b"\x11" * 32)

        backend = self.worker_backend(SequencerLink(self.clock), forward_transactions=forward)
        self.assertEqual(
            self.successResultOf(backend.send_raw_transaction(b"\x02\x01")), b"\x11" * 32
        )
        self.assertEqual(forwarded, [b"\x02\x01"])
        self.assertEqual(len(self.mempool), 0)
