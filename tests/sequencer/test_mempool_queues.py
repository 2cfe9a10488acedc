"""Per-sender nonce queues: gaps, promotion, replacement, mined removal, ``mark_invalid``,
balance-driven demotion and the ``pending`` nonce."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer.mempool_helpers import ADDRESSES, make_pool, sign
from zkos_tw.hashing import keccak256
from zkos_tw.sequencer import mempool_errors as errors

A = ADDRESSES[0]
B = ADDRESSES[1]
#: What ``sign()``'s default EIP-1559 transfer costs: max fee 2000 * gas 21,000 + value 1.
COST = 2000 * 21_000 + 1


class GapTests(SynchronousTestCase):
    """Nonce gaps are held back as queued and promoted when they fill."""

    def setUp(self):
        self.pool, self.accounts = make_pool()

    def states(self, address=A):
        """``[(nonce, pending)]`` of a sender's pooled transactions."""
        return [(t.nonce, t.pending) for t in self.pool.transactions_of(address)]

    def test_gap_is_queued(self):
        """Nonces 0 and 2: 0 is pending, 2 waits behind the gap."""
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 2))
        self.assertEqual(self.states(), [(0, True), (2, False)])
        self.assertEqual((self.pool.pending_count(), self.pool.queued_count()), (1, 1))

    def test_gap_fills(self):
        """Filling the gap promotes everything behind it, in one step."""
        for nonce in (3, 2, 1):
            self.pool.add(sign(0, nonce))
        self.assertEqual(self.pool.pending_count(), 0)
        self.pool.add(sign(0, 0))
        self.assertEqual(self.states(), [(0, True), (1, True), (2, True), (3, True)])
        self.assertEqual((self.pool.pending_count(), self.pool.queued_count()), (4, 0))

    def test_account_nonce_starts_the_run(self):
        """With account nonce 5, nonce 5 is pending and 7 queued."""
        self.accounts.nonces[A] = 5
        self.pool.add(sign(0, 7))
        self.pool.add(sign(0, 5))
        self.assertEqual(self.states(), [(5, True), (7, False)])

    def test_pending_nonce(self):
        """``pending_nonce`` is one past the consecutive run from the account nonce; ``None``
        with nothing pooled at the account nonce."""
        self.assertIsNone(self.pool.pending_nonce(A))
        self.pool.add(sign(0, 1))
        self.assertIsNone(self.pool.pending_nonce(A))
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 3))
        self.assertEqual(self.pool.pending_nonce(A), 2)
        self.pool.add(sign(0, 2))
        self.assertEqual(self.pool.pending_nonce(A), 4)

    def test_pending_nonce_counts_unaffordable_run(self):
        """Like reth's highest consecutive transaction, the run ignores the balance."""
        self.accounts.balances[A] = COST
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 1))
        self.assertEqual(self.states(), [(0, True), (1, False)])
        self.assertEqual(self.pool.pending_nonce(A), 2)

    def test_by_sender_and_nonce(self):
        """Pending and queued transactions are found by sender and nonce."""
        raw = sign(0, 4)
        self.pool.add(raw)
        self.assertEqual(self.pool.by_sender_and_nonce(A, 4).hash, keccak256(raw))
        self.assertIsNone(self.pool.by_sender_and_nonce(A, 3))
        self.assertIsNone(self.pool.by_sender_and_nonce(B, 4))


class BalanceTests(SynchronousTestCase):
    """A sender's pending run must be affordable as a whole."""

    def setUp(self):
        self.pool, self.accounts = make_pool()

    def test_cumulative_cost(self):
        """With money for two transfers, the third waits queued."""
        self.accounts.balances[A] = 2 * COST
        for nonce in range(3):
            self.pool.add(sign(0, nonce))
        self.assertEqual([t.pending for t in self.pool.transactions_of(A)], [True, True, False])

    def test_balance_growth_promotes(self):
        """When a block raises the balance, queued transactions are promoted."""
        self.accounts.balances[A] = COST
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 1))
        self.accounts.balances[A] = 2 * COST
        self.pool.on_block_mined([], changed_accounts=[A])
        self.assertEqual(self.pool.pending_count(), 2)

    def test_balance_drop_demotes(self):
        """When a block lowers the balance, the unaffordable end of the run is demoted."""
        for nonce in range(3):
            self.pool.add(sign(0, nonce))
        self.accounts.balances[A] = COST
        self.pool.on_block_mined([], changed_accounts=[A])
        self.assertEqual([t.pending for t in self.pool.transactions_of(A)], [True, False, False])

    def test_balance_read_on_add(self):
        """``add`` reads the account again: a lower balance demotes before the new one goes in."""
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 1))
        self.accounts.balances[A] = 2 * COST
        self.pool.add(sign(0, 2))
        self.assertEqual([t.pending for t in self.pool.transactions_of(A)], [True, True, False])


class ReplacementTests(SynchronousTestCase):
    """Same sender and nonce: reth's price bump rule (fee cap and tip each more than 10 %)."""

    def setUp(self):
        self.pool, self.accounts = make_pool()
        self.original = sign(0, 0, maxFeePerGas=2000, maxPriorityFeePerGas=100)
        self.pool.add(self.original)

    def assert_underpriced(self, raw):
        """``add(raw)`` is refused as an underpriced replacement and the original stays."""
        error = self.assertRaises(errors.ReplacementUnderpriced, self.pool.add, raw)
        self.assertEqual(
            str(error),
            f"[0x{keccak256(raw).hex()}]: insufficient gas price to replace existing transaction",
        )
        self.assertEqual(self.pool.by_sender_and_nonce(A, 0).hash, keccak256(self.original))

    def test_exactly_ten_percent_is_not_enough(self):
        """reth compares with ``<=``: +10 % exactly is still underpriced."""
        self.assert_underpriced(sign(0, 0, maxFeePerGas=2200, maxPriorityFeePerGas=111))
        self.assert_underpriced(sign(0, 0, maxFeePerGas=2201, maxPriorityFeePerGas=110))

    def test_lower_or_equal_price(self):
        """A cheaper or equally priced transaction with other contents is underpriced."""
        self.assert_underpriced(sign(0, 0, maxFeePerGas=2000, maxPriorityFeePerGas=100, value=2))
        self.assert_underpriced(sign(0, 0, maxFeePerGas=1000, maxPriorityFeePerGas=10))

    def test_bumped_replaces(self):
        """More than 10 % on both fields replaces; the old hash is gone, counts unchanged."""
        raw = sign(0, 0, maxFeePerGas=2201, maxPriorityFeePerGas=111)
        self.pool.add(raw)
        self.assertIsNone(self.pool.get(keccak256(self.original)))
        self.assertEqual(self.pool.by_sender_and_nonce(A, 0).hash, keccak256(raw))
        self.assertTrue(self.pool.get(keccak256(raw)).pending)
        self.assertEqual((self.pool.pending_count(), self.pool.queued_count()), (1, 0))

    def test_zero_tip_only_checks_fee_cap(self):
        """With a zero tip on either side only the fee cap must rise (reth)."""
        pool, _ = make_pool()
        pool.add(sign(1, 0, maxFeePerGas=2000, maxPriorityFeePerGas=0))
        pool.add(sign(1, 0, maxFeePerGas=2201, maxPriorityFeePerGas=0))
        self.assertEqual(pool.by_sender_and_nonce(B, 0).max_fee, 2201)

    def test_legacy_replaces_by_gas_price(self):
        """Legacy transactions have no tip field: the gas price alone must rise > 10 %."""
        pool, _ = make_pool()
        pool.add(sign(1, 0, tx_type=0, gasPrice=1000))
        self.assertRaises(
            errors.ReplacementUnderpriced, pool.add, sign(1, 0, tx_type=0, gasPrice=1100)
        )
        pool.add(sign(1, 0, tx_type=0, gasPrice=1101))
        self.assertEqual(pool.by_sender_and_nonce(B, 0).max_fee, 1101)

    def test_replacing_queued(self):
        """A queued transaction is replaced in place and stays queued."""
        self.pool.add(sign(0, 2))
        self.pool.add(sign(0, 2, maxFeePerGas=3000, maxPriorityFeePerGas=200))
        self.assertEqual(self.pool.by_sender_and_nonce(A, 2).max_fee, 3000)
        self.assertEqual((self.pool.pending_count(), self.pool.queued_count()), (1, 1))

    def test_costlier_replacement_demotes_what_no_longer_fits(self):
        """A replacement that costs more can push later nonces out of the affordable run."""
        self.accounts.balances[A] = 3 * COST
        self.pool.add(sign(0, 1))
        self.pool.add(sign(0, 2))
        self.assertEqual(self.pool.pending_count(), 3)
        self.pool.add(sign(0, 0, maxFeePerGas=4000, maxPriorityFeePerGas=200))
        self.assertEqual([t.pending for t in self.pool.transactions_of(A)], [True, True, False])


class MinedTests(SynchronousTestCase):
    """``on_block_mined`` drops mined and stale transactions and promotes what follows."""

    def setUp(self):
        self.pool, self.accounts = make_pool()

    def test_mined_removed(self):
        """Mined nonces leave the pool; the rest stays pending."""
        raws = [sign(0, n) for n in range(3)]
        for raw in raws:
            self.pool.add(raw)
        self.accounts.nonces[A] = 2
        self.pool.on_block_mined([(A, 0), (A, 1)], self.accounts)
        self.assertIsNone(self.pool.get(keccak256(raws[0])))
        self.assertIsNone(self.pool.get(keccak256(raws[1])))
        self.assertEqual([t.nonce for t in self.pool.transactions_of(A)], [2])
        self.assertEqual(
            (self.pool.pending_count(), self.pool.queued_count(), len(self.pool)), (1, 0, 1)
        )

    def test_stale_removed_and_gap_promoted(self):
        """A nonce jump (transactions mined from elsewhere) drops the stale ones and promotes
        queued transactions that now start at the account nonce."""
        self.pool.add(sign(0, 0))
        self.pool.add(sign(0, 3))
        self.pool.add(sign(0, 4))
        self.accounts.nonces[A] = 3
        self.pool.on_block_mined([(A, 0), (A, 1), (A, 2)], self.accounts)
        self.assertEqual(
            [(t.nonce, t.pending) for t in self.pool.transactions_of(A)], [(3, True), (4, True)]
        )
        self.assertEqual(self.pool.pending_nonce(A), 5)

    def test_all_mined_forgets_sender(self):
        """A sender with nothing left is forgotten."""
        self.pool.add(sign(0, 0))
        self.accounts.nonces[A] = 1
        self.pool.on_block_mined([(A, 0)], self.accounts)
        self.assertEqual(self.pool.senders(), [])
        self.assertIsNone(self.pool.pending_nonce(A))

    def test_unknown_senders_ignored(self):
        """Mined transactions the pool never held (e.g. L1 transactions) change nothing."""
        self.pool.add(sign(0, 0))
        self.pool.on_block_mined([(B, 0), (b"\x00" * 20, 7)], self.accounts)
        self.assertEqual(self.pool.pending_count(), 1)

    def test_add_notices_a_block_not_yet_reported(self):
        """``add`` reads the account nonce, so transactions below it are dropped then."""
        self.pool.add(sign(0, 0))
        self.accounts.nonces[A] = 1
        self.pool.add(sign(0, 1))
        self.assertEqual([(t.nonce, t.pending) for t in self.pool.transactions_of(A)], [(1, True)])
        self.assertEqual(self.pool.pending_count(), 1)


class MarkInvalidTests(SynchronousTestCase):
    """``mark_invalid`` drops a transaction the VM rejected."""

    def setUp(self):
        self.pool, self.accounts = make_pool()

    def test_later_nonces_become_queued(self):
        """The dropped transaction leaves a gap: the sender's later ones are queued again."""
        raws = [sign(0, n) for n in range(3)]
        for raw in raws:
            self.pool.add(raw)
        self.pool.mark_invalid(keccak256(raws[1]), "NonceTooLow")
        self.assertIsNone(self.pool.get(keccak256(raws[1])))
        self.assertEqual(
            [(t.nonce, t.pending) for t in self.pool.transactions_of(A)], [(0, True), (2, False)]
        )
        self.assertEqual((self.pool.pending_count(), self.pool.queued_count()), (1, 1))
        self.pool.add(sign(0, 1, value=5))
        self.assertEqual(self.pool.pending_count(), 3)

    def test_unknown_hash(self):
        """An unknown hash is ignored."""
        self.pool.mark_invalid(b"\x11" * 32, "gone")
        self.assertEqual(len(self.pool), 0)

    def test_resubmit_after_drop(self):
        """The dropped bytes can be submitted again (they are no longer ``already imported``)."""
        raw = sign(0, 0)
        self.pool.add(raw)
        self.pool.mark_invalid(keccak256(raw), "Revert")
        self.pool.add(raw)
        self.assertEqual(self.pool.pending_count(), 1)


class FreshStateTests(SynchronousTestCase):
    """``add`` brings the sender to the account state it reads, whatever the outcome."""

    def test_promotion_announced_even_when_refused(self):
        """A balance rise seen by a refused replacement still promotes and announces."""
        pool, accounts = make_pool()
        accounts.balances[A] = COST
        pool.add(sign(0, 0))
        pool.add(sign(0, 1))
        seen = []
        pool.add_pending_listener(seen.append)
        accounts.balances[A] = 2 * COST
        self.assertRaises(errors.ReplacementUnderpriced, pool.add, sign(0, 0, value=3))
        self.assertEqual([t.nonce for t in seen], [1])
        self.assertEqual(pool.pending_count(), 2)
