"""``best_transactions``: ordering by effective tip, per-sender nonce order, base fee, and the
iterator's life while a block is built (new arrivals, ``mark_invalid``, ``skip``)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer.mempool_helpers import ADDRESSES, make_pool, sign
from zkos_tw.hashing import keccak256

BASE_FEE = 1000


def order(best):
    """``[(sender index, nonce)]`` of what an iterator yields."""
    return [(ADDRESSES.index(t.sender), t.nonce) for t in best]


class OrderingTests(SynchronousTestCase):
    """Best effective tip first; each sender in nonce order."""

    def setUp(self):
        self.pool, self.accounts = make_pool()

    def test_by_tip(self):
        """Heads are ordered by ``min(tip, max_fee - base_fee)``."""
        self.pool.add(sign(0, 0, maxFeePerGas=5000, maxPriorityFeePerGas=10))
        self.pool.add(sign(1, 0, maxFeePerGas=5000, maxPriorityFeePerGas=300))
        self.pool.add(sign(2, 0, maxFeePerGas=1200, maxPriorityFeePerGas=1000))  # capped to 200
        self.pool.add(sign(3, 0, tx_type=0, gasPrice=1050))  # legacy: 50
        self.assertEqual(
            order(self.pool.best_transactions(BASE_FEE)), [(1, 0), (2, 0), (3, 0), (0, 0)]
        )

    def test_nonce_order_within_sender(self):
        """A sender's cheap head holds back its own expensive later nonce, not others."""
        self.pool.add(sign(0, 0, maxFeePerGas=2000, maxPriorityFeePerGas=1))
        self.pool.add(sign(0, 1, maxFeePerGas=9000, maxPriorityFeePerGas=900))
        self.pool.add(sign(1, 0, maxFeePerGas=2000, maxPriorityFeePerGas=50))
        self.assertEqual(order(self.pool.best_transactions(BASE_FEE)), [(1, 0), (0, 0), (0, 1)])

    def test_ties_go_to_the_older(self):
        """Equal tips: arrival order."""
        for index in (3, 1, 2):
            self.pool.add(sign(index, 0))
        self.assertEqual(order(self.pool.best_transactions(BASE_FEE)), [(3, 0), (1, 0), (2, 0)])

    def test_queued_not_yielded(self):
        """Transactions behind a gap are not offered."""
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 2))
        self.assertEqual(order(self.pool.best_transactions(BASE_FEE)), [(0, 0)])

    def test_fee_cap_below_base_fee_skips_sender(self):
        """A head under the base fee is skipped with the nonces after it; it stays pooled."""
        self.pool.add(sign(0, 0, maxFeePerGas=999, maxPriorityFeePerGas=0))
        self.pool.add(sign(0, 1, maxFeePerGas=5000, maxPriorityFeePerGas=500))
        self.pool.add(sign(1, 0))
        self.assertEqual(order(self.pool.best_transactions(BASE_FEE)), [(1, 0)])
        self.assertEqual(self.pool.pending_count(), 3)
        self.assertEqual(order(self.pool.best_transactions(0)), [(1, 0), (0, 0), (0, 1)])

    def test_iterating_does_not_remove(self):
        """Iteration leaves the pool as it was; a second iterator sees the same."""
        for nonce in range(3):
            self.pool.add(sign(0, nonce))
        first = order(self.pool.best_transactions(BASE_FEE))
        self.assertEqual(first, order(self.pool.best_transactions(BASE_FEE)))
        self.assertEqual(self.pool.pending_count(), 3)


class LiveIteratorTests(SynchronousTestCase):
    """An iterator in use while transactions arrive or are rejected."""

    def setUp(self):
        self.pool, self.accounts = make_pool()

    def test_sees_new_arrivals(self):
        """A transaction that becomes pending during the block is offered, in nonce order."""
        self.pool.add(sign(0, 0))
        best = self.pool.best_transactions(BASE_FEE)
        self.assertEqual(next(best).nonce, 0)
        self.assertRaises(StopIteration, next, best)
        self.pool.add(sign(0, 1))
        self.pool.add(sign(1, 0))
        self.assertEqual(order(best), [(0, 1), (1, 0)])

    def test_new_gap_filler_after_head_taken(self):
        """A sender whose run ended can continue when its next nonce arrives, not earlier ones."""
        self.pool.add(sign(0, 0))
        best = self.pool.best_transactions(BASE_FEE)
        next(best)
        self.pool.add(sign(0, 2))  # queued: not offered
        self.assertRaises(StopIteration, next, best)
        self.pool.add(sign(0, 1))  # promotes 1 and 2
        self.assertEqual(order(best), [(0, 1), (0, 2)])

    def test_mark_invalid_skips_sender(self):
        """After ``mark_invalid`` the sender's later transactions are not offered."""
        for nonce in range(3):
            self.pool.add(sign(0, nonce))
        self.pool.add(sign(1, 0, maxFeePerGas=2000, maxPriorityFeePerGas=1))
        best = self.pool.best_transactions(BASE_FEE)
        head = next(best)
        self.pool.mark_invalid(head.hash, "Revert")
        self.assertEqual(order(best), [(1, 0)])
        self.assertEqual(
            [t.pending for t in self.pool.transactions_of(ADDRESSES[0])], [False, False]
        )

    def test_skip_keeps_transactions(self):
        """``skip`` leaves a sender out of this block but in the pool."""
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 1))
        self.pool.add(sign(1, 0, maxFeePerGas=2000, maxPriorityFeePerGas=1))
        best = self.pool.best_transactions(BASE_FEE)
        best.skip(next(best))
        self.assertEqual(order(best), [(1, 0)])
        self.assertEqual(self.pool.pending_count(), 3)

    def test_replacement_during_iteration(self):
        """A head replaced before it is taken is offered as its replacement."""
        self.pool.add(sign(0, 0, maxFeePerGas=2000, maxPriorityFeePerGas=1))
        self.pool.add(sign(1, 0, maxFeePerGas=2000, maxPriorityFeePerGas=50))
        best = self.pool.best_transactions(BASE_FEE)
        raw = sign(0, 0, maxFeePerGas=5000, maxPriorityFeePerGas=500)
        self.pool.add(raw)
        taken = list(best)
        self.assertEqual([t.hash for t in taken][1], keccak256(raw))
        self.assertEqual(len(taken), 2)

    def test_mined_during_iteration(self):
        """Transactions mined away before they are taken are not offered."""
        self.pool.add(sign(0, 0))
        self.pool.add(sign(1, 0))
        best = self.pool.best_transactions(BASE_FEE)
        self.accounts.nonces[ADDRESSES[1]] = 1
        self.pool.on_block_mined([(ADDRESSES[1], 0)], self.accounts)
        self.assertEqual(order(best), [(0, 0)])
