"""A worker's ``SequencerLink`` against the sequencer's ``SequencerGateway`` over an in-memory
connection, with a real ``Mempool``: batching, the pool's answers, queries, pushes."""

from __future__ import annotations

from twisted.internet.testing import MemoryReactorClock
from twisted.test.iosim import FakeTransport, connect
from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer.mempool_helpers import ADDRESSES, BLOCK_GAS_LIMIT, CHAIN_ID, FakeAccounts, sign
from zkos_tw.hashing import keccak256
from zkos_tw.rpc.errors import BackendError
from zkos_tw.sequencer.inclusion import InclusionWait
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.sequencer.mempool_validation import decode_pooled
from zkos_tw.workers.frames import Head, Submission
from zkos_tw.workers.gateway import SequencerGateway
from zkos_tw.workers.link import SequencerLink, SequencerUnavailable


def prepared(raw: bytes) -> Submission:
    tx_hash = keccak256(raw)
    return Submission(tx_hash, decode_pooled(raw, tx_hash, 0).sender, raw)


class LinkTests(SynchronousTestCase):
    def setUp(self):
        self.clock = MemoryReactorClock()
        self.mempool = Mempool(FakeAccounts(), chain_id=CHAIN_ID, block_gas_limit=BLOCK_GAS_LIMIT)
        self.heads = Head(3, 2, 1)
        self.inclusion = None
        self.connect()

    def connect(self):
        self.gateway = SequencerGateway(self.mempool, lambda: self.heads, inclusion=self.inclusion)
        self.pushed_heads = []
        self.lost = []
        self.link = SequencerLink(
            self.clock,
            on_head=self.pushed_heads.append,
            on_lost=lambda: self.lost.append(1),
        )
        server = self.gateway.factory("rpc-worker-0").buildProtocol(None)
        self.pump = connect(
            server, FakeTransport(server, True), self.link, FakeTransport(self.link, False)
        )

    def flush(self):
        self.clock.advance(0)
        self.pump.flush()

    def test_head_on_connect(self):
        """A new link learns the head at once."""
        self.assertEqual(self.pushed_heads, [Head(3, 2, 1)])
        self.assertEqual(self.link.head, Head(3, 2, 1))

    def test_one_frame_per_turn_and_pool_answers(self):
        """Three submissions in one turn: one SUBMIT, inserted in order, each answered with its
        hash; a duplicate and a nonce below the account's get the pool's texts."""
        raws = [sign(0, n) for n in (2, 1, 0)]
        sent = []
        original = self.link.transport.write
        self.link.transport.write = lambda data: (sent.append(data), original(data))
        results = [self.link.submit(prepared(raw)) for raw in raws]
        self.flush()
        self.assertEqual(len(sent), 1)
        hashes = [self.successResultOf(d) for d in results]
        self.assertEqual(hashes, [keccak256(r) for r in raws])
        self.assertEqual(self.mempool.pending_count(), 3)
        self.assertEqual(self.mempool.get(hashes[0]).sender, ADDRESSES[0])
        again = self.link.submit(prepared(raws[0]))
        self.flush()
        error = self.failureResultOf(again, BackendError).value
        self.assertIn("already imported", error.message)

    def test_pending_nonce_and_pooled_queries(self):
        raw = sign(1, 0)
        done = self.link.submit(prepared(raw))
        self.flush()
        self.successResultOf(done)
        nonce = self.link.pending_nonce(ADDRESSES[1])
        unknown = self.link.pending_nonce(bytes(20))
        pooled = self.link.pooled(keccak256(raw))
        by_nonce = self.link.pooled_by_nonce(ADDRESSES[1], 0)
        missing = self.link.pooled(bytes(32))
        self.flush()
        self.assertEqual(self.successResultOf(nonce), 1)
        self.assertIsNone(self.successResultOf(unknown))
        self.assertEqual(self.successResultOf(pooled), (ADDRESSES[1], raw))
        self.assertEqual(self.successResultOf(by_nonce), (ADDRESSES[1], raw))
        self.assertIsNone(self.successResultOf(missing))

    def test_block_stored_pushes_head(self):
        self.heads = Head(4, 2, 1, 5, 4)
        self.gateway.block_stored(None)
        self.flush()
        self.assertEqual(self.pushed_heads, [Head(3, 2, 1), Head(4, 2, 1, 5, 4)])

    def test_pending_pushed_only_when_watched(self):
        got = []
        self.link.on_pending = got.append
        self.link.submit(prepared(sign(2, 0)))
        self.flush()
        self.assertEqual(got, [])
        self.link.watch_pending(True)
        self.flush()
        self.link.submit(prepared(sign(2, 1)))
        self.flush()
        self.assertEqual([item.raw for item in got], [sign(2, 1)])
        self.link.watch_pending(False)
        self.flush()
        self.link.submit(prepared(sign(2, 2)))
        self.flush()
        self.assertEqual(len(got), 1)

    def test_inclusion_wait_holds_the_answer(self):
        """With ``--dev``'s wait the answer comes once the block holding the tx is stored."""
        self.inclusion = InclusionWait(self.clock, 10.0)
        self.connect()
        raw = sign(3, 0)
        done = self.link.submit(prepared(raw))
        self.flush()
        self.assertNoResult(done)

        class Included:
            tx_hash = keccak256(raw)

        class Block:
            transactions = [Included()]

        self.inclusion.block_stored(Block())
        self.pump.flush()
        self.assertEqual(self.successResultOf(done), keccak256(raw))

    def test_lost_link_fails_waiting_and_new_calls(self):
        done = self.link.submit(prepared(sign(0, 0)))  # queued for this turn's frame
        self.gateway.links[0].transport.loseConnection()  # the node went away
        self.pump.flush()
        self.failureResultOf(done, SequencerUnavailable)
        self.failureResultOf(self.link.submit(prepared(sign(0, 1))), SequencerUnavailable)
        self.failureResultOf(self.link.pending_nonce(ADDRESSES[0]), SequencerUnavailable)
        self.assertEqual(self.lost, [1])
        self.assertEqual(self.gateway.links, [])

    def test_unreadable_frame_drops_the_worker(self):
        """A frame of another version from a worker: the gateway closes that link."""
        self.link.transport.write(b"\x09\x01\x00\x00\x00\x00")
        self.pump.flush()
        self.assertEqual(self.gateway.links, [])
        self.assertEqual(self.lost, [1])
        self.flushLoggedErrors()
