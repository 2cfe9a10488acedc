"""``Admission``: preparation batched per reactor turn, insertion in arrival order, same errors."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer.test_service import signed
from zkos_tw.sequencer.admission import Admission
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.sequencer.mempool_errors import NonceTooLow, TransactionDecodeError

RICH = bytes.fromhex("36615Cf349d7F6344891B1e7CA7C72883F5dc049")


class Accounts:
    def nonce_of(self, address):
        return 1 if address == RICH else 0

    def balance_of(self, address):
        return 10**20


class AdmissionTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = MemoryReactorClock()
        self.mempool = Mempool(Accounts(), chain_id=270, block_gas_limit=100_000_000)
        self.jobs = []

        def in_thread(f, *args):
            self.jobs.append(len(args[1]))
            return defer.maybeDeferred(f, *args)

        self.admission = Admission(self.reactor, self.mempool, _in_thread=in_thread)

    def test_one_job_per_turn_in_arrival_order(self):
        # Nonces 3, 2, 1 in one batch: 3 and 2 wait as queued, 1 makes all three pending.
        results = [self.admission.submit(signed(n)) for n in (3, 2, 1)]
        self.assertNoResult(results[0])
        self.reactor.advance(0)
        self.assertEqual(self.jobs, [3])
        hashes = [self.successResultOf(d) for d in results]
        self.assertEqual([self.mempool.get(h).nonce for h in hashes], [3, 2, 1])
        self.assertEqual(self.mempool.pending_count(), 3)
        self.assertEqual(
            [self.mempool.get(h).seq for h in hashes],
            sorted(self.mempool.get(h).seq for h in hashes),
        )

    def test_errors_are_the_pools(self):
        bad = self.admission.submit(b"\x02\xc0")
        low = self.admission.submit(signed(0))
        good = self.admission.submit(signed(1))
        again = self.admission.submit(signed(1))
        self.reactor.advance(0)
        self.failureResultOf(bad, TransactionDecodeError)
        self.assertIn("nonce", str(self.failureResultOf(low, NonceTooLow).value))
        self.successResultOf(good)
        self.assertIn("already imported", str(self.failureResultOf(again).value))
