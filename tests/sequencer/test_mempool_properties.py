"""Property: random sequences of adds, blocks, balance changes and rejections keep the pool's
invariants (one transaction per sender and nonce; pending runs consecutive from the account nonce
and affordable; counters and indexes agree; ``best_transactions`` yields each pending
transaction once, in nonce order per sender)."""

from __future__ import annotations

from hypothesis import example, given, settings
from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer.mempool_helpers import ADDRESSES, FakeAccounts, make_pool, sign
from tests.strategies import mempool_ops
from zkos_tw.sequencer.mempool_errors import PoolError

SENDERS = 3
#: Fee levels far enough apart that each replaces the one below it.
FEES = [(2000, 100), (3000, 200), (4000, 300)]
COST = {level: fee * 21_000 + 1 for level, (fee, _) in enumerate(FEES)}


class InvariantTests(SynchronousTestCase):
    """The pool's invariants hold after every step of a random history."""

    def check(self, pool, accounts: FakeAccounts) -> None:
        """Assert every invariant of ``pool`` against the account state in ``accounts``."""
        pending = queued = size = 0
        seen = set()
        for address in pool.senders():
            txs = pool.transactions_of(address)
            self.assertTrue(txs, "a sender without transactions is forgotten")
            nonce = accounts.nonce_of(address)
            balance = accounts.balance_of(address)
            keys = [(t.sender, t.nonce) for t in txs]
            self.assertEqual(len(keys), len(set(keys)))
            seen.update(keys)
            run = [t for t in txs if t.pending]
            self.assertEqual([t.nonce for t in run], list(range(nonce, nonce + len(run))))
            self.assertLessEqual(sum(t.cost for t in run), balance)
            after = pool.by_sender_and_nonce(address, nonce + len(run))
            if after is not None:  # the run stops only where the money does
                self.assertGreater(sum(t.cost for t in run) + after.cost, balance)
            self.assertTrue(all(t.nonce >= nonce for t in txs))
            for t in txs:
                self.assertIs(pool.get(t.hash), t)
            end = nonce
            while pool.by_sender_and_nonce(address, end) is not None:
                end += 1
            self.assertEqual(pool.pending_nonce(address), end if end > nonce else None)
            pending += len(run)
            queued += len(txs) - len(run)
            size += sum(t.size for t in run)
        self.assertEqual((pool.pending_count(), pool.queued_count()), (pending, queued))
        self.assertEqual(pool.pending_size(), size)
        self.assertEqual(len(pool), len(seen))
        best = list(pool.best_transactions(0))
        self.assertEqual(len(best), pending)
        self.assertEqual(len({t.hash for t in best}), pending)
        last = {}
        for t in best:
            self.assertTrue(t.pending)
            self.assertEqual(t.nonce, last.get(t.sender, accounts.nonce_of(t.sender)))
            last[t.sender] = t.nonce + 1

    @settings(max_examples=300)
    @given(mempool_ops)
    @example([("add", 0, 0, 0), ("balance", 0, 0)])  # a balance drop demotes
    @example([("add", 0, 0, 0), ("add", 0, 1, 0), ("add", 0, 2, 0), ("add", 0, 0, 1)])  # costlier
    def test_random_histories(self, ops):
        """Adds, blocks that mine pending heads, balance changes and ``mark_invalid``."""
        accounts = FakeAccounts(default_balance=3 * COST[0])
        pool, _ = make_pool(accounts)
        for op in ops:
            kind = op[0]
            if kind == "add":
                _, index, offset, level = op  # nonce relative to the account's: gaps are rarer
                nonce = accounts.nonce_of(ADDRESSES[index]) + offset
                fee, tip = FEES[level]
                try:
                    pool.add(sign(index, nonce, maxFeePerGas=fee, maxPriorityFeePerGas=tip))
                except PoolError:
                    pass  # a refused add is part of the random history; invariants still hold
            elif kind == "mine":
                _, index, count = op
                address = ADDRESSES[index]
                heads = [t for t in pool.transactions_of(address) if t.pending][:count]
                if heads:
                    accounts.nonces[address] = heads[-1].nonce + 1
                    spent = sum(t.cost for t in heads)
                    accounts.balances[address] = accounts.balance_of(address) - spent
                    pool.on_block_mined([(address, t.nonce) for t in heads], accounts)
            elif kind == "balance":
                _, index, units = op
                accounts.balances[ADDRESSES[index]] = units * COST[0]
                pool.on_block_mined([], accounts, changed_accounts=[ADDRESSES[index]])
            else:
                everything = [t for a in pool.senders() for t in pool.transactions_of(a)]
                if everything:
                    pool.mark_invalid(everything[op[1] % len(everything)].hash, "test")
            self.check(pool, accounts)
