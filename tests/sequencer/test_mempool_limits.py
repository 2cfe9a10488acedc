"""Pool limits (``max_pending_txs``, ``max_pending_size``, the queued bound) and pending
listeners."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer.mempool_helpers import ADDRESSES, make_pool, sign
from zkos_tw.hashing import keccak256
from zkos_tw.sequencer import mempool_errors as errors

A = ADDRESSES[0]


class PendingLimitTests(SynchronousTestCase):
    """Over the pending limit the worst tail is evicted; if that is the newcomer it is refused."""

    def test_unlimited_by_default(self):
        """``None`` limits: everything goes in."""
        pool, _ = make_pool()
        for index in range(5):
            pool.add(sign(index, 0))
        self.assertEqual(pool.pending_count(), 5)

    def test_equal_tip_newcomer_refused(self):
        """A full pool refuses a newcomer that pays no more than what is there."""
        pool, _ = make_pool(max_pending_txs=2)
        pool.add(sign(0, 0))
        pool.add(sign(1, 0))
        raw = sign(2, 0)
        error = self.assertRaises(errors.DiscardedOnInsert, pool.add, raw)
        self.assertEqual(
            str(error),
            f"[0x{keccak256(raw).hex()}]: transaction discarded outright due to pool size constraints",
        )
        self.assertEqual((pool.pending_count(), len(pool)), (2, 2))

    def test_higher_tip_evicts_worst_tail(self):
        """A better-paying newcomer evicts the lowest-tip tail."""
        pool, _ = make_pool(max_pending_txs=2)
        cheap = sign(0, 0, maxFeePerGas=2000, maxPriorityFeePerGas=1)
        pool.add(cheap)
        pool.add(sign(1, 0))
        pool.add(sign(2, 0, maxFeePerGas=3000, maxPriorityFeePerGas=500))
        self.assertIsNone(pool.get(keccak256(cheap)))
        self.assertEqual(pool.pending_count(), 2)

    def test_only_tails_are_evicted(self):
        """Eviction takes a sender's last pending nonce, never one in the middle of its run."""
        pool, _ = make_pool(max_pending_txs=3)
        pool.add(sign(0, 0, maxFeePerGas=2000, maxPriorityFeePerGas=1))
        pool.add(sign(0, 1, maxFeePerGas=2000, maxPriorityFeePerGas=900))
        pool.add(sign(1, 0, maxFeePerGas=2000, maxPriorityFeePerGas=500))
        pool.add(sign(2, 0, maxFeePerGas=2000, maxPriorityFeePerGas=600))
        # Sender 0's head pays least but is not a tail; sender 1's tail (500) goes.
        self.assertEqual([t.nonce for t in pool.transactions_of(A)], [0, 1])
        self.assertEqual(pool.transactions_of(ADDRESSES[1]), [])
        self.assertEqual(pool.pending_count(), 3)

    def test_size_limit(self):
        """``max_pending_size`` bounds the encoded bytes of pending transactions."""
        size = len(sign(0, 0))
        pool, _ = make_pool(max_pending_size=2 * size)
        pool.add(sign(0, 0))
        pool.add(sign(1, 0))
        self.assertRaises(errors.DiscardedOnInsert, pool.add, sign(2, 0))
        self.assertEqual(pool.pending_size(), 2 * size)

    def test_queued_do_not_count(self):
        """Queued transactions do not use the pending limit."""
        pool, _ = make_pool(max_pending_txs=1)
        pool.add(sign(0, 0))
        pool.add(sign(0, 5))
        pool.add(sign(1, 5))
        self.assertEqual((pool.pending_count(), pool.queued_count()), (1, 2))

    def test_queued_limit(self):
        """A newcomer that would be queued beyond the queued bound is refused."""
        pool, _ = make_pool(max_queued_txs=2)
        pool.add(sign(0, 3))
        pool.add(sign(0, 4))
        self.assertRaises(errors.DiscardedOnInsert, pool.add, sign(0, 5))
        self.assertEqual(pool.queued_count(), 2)
        pool.add(sign(1, 0))  # pending ones still go in
        self.assertEqual(pool.pending_count(), 1)


class ListenerTests(SynchronousTestCase):
    """``add_pending_listener``: told about every transaction that becomes pending."""

    def setUp(self):
        self.pool, self.accounts = make_pool()
        self.seen = []
        self.remove = self.pool.add_pending_listener(self.seen.append)

    def nonces(self):
        """Nonces the listener saw."""
        return [t.nonce for t in self.seen]

    def test_added_pending(self):
        """A pending newcomer is announced once, after it is in the pool."""
        raw = sign(0, 0)
        self.pool.add(raw)
        self.assertEqual([t.hash for t in self.seen], [keccak256(raw)])
        self.assertIs(self.pool.get(keccak256(raw)), self.seen[0])

    def test_queued_then_promoted(self):
        """A queued transaction is announced when the gap fills, after the gap filler."""
        self.pool.add(sign(0, 1))
        self.assertEqual(self.seen, [])
        self.pool.add(sign(0, 0))
        self.assertEqual(self.nonces(), [0, 1])

    def test_promoted_by_block(self):
        """Promotion by a block (more balance) is announced."""
        self.accounts.balances[A] = 2000 * 21_000 + 1
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 1))
        self.accounts.balances[A] *= 2
        self.pool.on_block_mined([], changed_accounts=[A])
        self.assertEqual(self.nonces(), [0, 1])

    def test_replacement_announced(self):
        """A replacement of a pending transaction is announced; its successors are not again."""
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 1))
        self.pool.add(sign(0, 0, maxFeePerGas=3000, maxPriorityFeePerGas=200))
        self.assertEqual(self.nonces(), [0, 1, 0])

    def test_refused_not_announced(self):
        """Refused transactions are not announced."""
        self.accounts.balances[A] = 0
        self.assertRaises(errors.InsufficientFunds, self.pool.add, sign(0, 0))
        self.assertEqual(self.seen, [])

    def test_remove(self):
        """The returned callable removes the listener; calling it twice is harmless."""
        self.remove()
        self.remove()
        self.pool.add(sign(0, 0))
        self.assertEqual(self.seen, [])

    def test_failing_listener(self):
        """A listener that raises is logged; others still run and the add succeeds."""

        def broken(ptx):
            raise RuntimeError("boom")

        self.pool.add_pending_listener(broken)
        later = []
        self.pool.add_pending_listener(later.append)
        self.pool.add(sign(0, 0))
        self.assertEqual((len(self.seen), len(later)), (1, 1))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
