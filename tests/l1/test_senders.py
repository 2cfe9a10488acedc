"""The L1 senders (``zkos_tw.l1.senders``) against an in-memory L1 (``FakeSenderL1``) and a
``Clock``: sequential nonces, ordered hand-over, fee bumping, restarts, failed receipts and
unfunded operators."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from tests.l1.sender_fixtures import DIAMOND, GWEI, KEY, TIMELOCK, FakeSenderL1, envelopes
from zkos_tw.l1 import senders
from zkos_tw.l1.calldata import CommitCommand
from zkos_tw.l1.client import L1Error
from zkos_tw.pipeline import BoundedQueue


class SenderTestCase(SynchronousTestCase):
    """A commit sender over ``FakeSenderL1`` with a ``Clock`` and a captured log."""

    def setUp(self):
        self.l1 = FakeSenderL1()
        self.clock = Clock()
        self.inbound = BoundedQueue(16, "commit in")
        self.outbound = BoundedQueue(16, "commit out")
        self.events = []
        self.patch(senders, "log", Logger(observer=self.events.append))
        self.envelopes = envelopes(4)

    def make_sender(self, **options):
        sender = senders.L1Sender(
            "commit",
            private_key=KEY,
            l1_client=self.l1,
            clock=self.clock,
            diamond_proxy=DIAMOND,
            validator_timelock=TIMELOCK,
            inbound=self.inbound,
            outbound=self.outbound,
            max_fee_per_gas=10 * GWEI,
            max_priority_fee_per_gas=GWEI,
            poll_interval=1.0,
            stuck_tx_timeout=30.0,
            **options,
        )
        self.addCleanup(lambda: sender.running and sender.stopService())
        return sender

    def feed(self, *numbers):
        for n in numbers:
            self.successResultOf(self.inbound.put(CommitCommand(self.envelopes[n - 1])))

    def drained(self):
        out = []
        while len(self.outbound):
            out.append(self.successResultOf(self.outbound.get()))
        return out

    def errors(self):
        return [e for e in self.events if e["log_level"].name in ("error", "critical")]


class RoundTests(SenderTestCase):
    """(a) A round goes out with sequential nonces and is passed on in order once mined."""

    def test_sequential_nonces_and_ordered_handover(self):
        """Three commands are sent with nonces 0, 1, 2 and the fixed fee caps, nothing is
        passed on before they are mined, then the three envelopes come out in order."""
        self.feed(1, 2, 3)
        sender = self.make_sender()
        sender.startService()
        self.assertEqual(self.l1.pending_nonces(), [0, 1, 2])
        self.assertEqual([t["maxFeePerGas"] for t in self.l1.sent], [10 * GWEI] * 3)
        self.assertEqual([t["maxPriorityFeePerGas"] for t in self.l1.sent], [GWEI] * 3)
        self.assertEqual([bytes(t["to"]) for t in self.l1.sent], [TIMELOCK] * 3)
        self.assertEqual([t["gas"] for t in self.l1.sent], [15_000_000] * 3)
        self.assertEqual(len(self.outbound), 0)
        self.clock.advance(1.0)
        self.assertEqual(len(self.outbound), 0)
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[:3])
        self.assertEqual(sender.l1_counter, 3)
        self.assertEqual(sender.problems(), [])
        for envelope in self.envelopes[:3]:
            self.assertEqual(set(envelope.stage_times), {"CommitL1TxSent", "CommitL1TxMined"})

    def test_next_round_continues_nonces(self):
        """A command arriving after a mined round is sent with the next nonce."""
        self.feed(1)
        sender = self.make_sender()
        sender.startService()
        self.l1.mine()
        self.clock.advance(1.0)
        self.feed(2)
        self.assertEqual(self.l1.pending_nonces(), [1])
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[:2])


class FeeBumpTests(SenderTestCase):
    """(b) A transaction not mined for ``stuck_tx_timeout`` is replaced with higher fees."""

    def test_stuck_transaction_replaced_with_same_nonce(self):
        """After 30 s unmined, the command is resent with nonce 0 and both caps raised by at
        least 10%; the replacement being mined passes the envelope on."""
        self.feed(1)
        sender = self.make_sender()
        sender.startService()
        self.clock.pump([1.0] * 29)
        self.assertEqual(len(self.l1.sent), 1)
        self.clock.advance(1.0)
        self.assertEqual(len(self.l1.sent), 2)
        first, second = self.l1.sent
        self.assertEqual((first["nonce"], second["nonce"]), (0, 0))
        self.assertEqual(first["data"], second["data"])
        self.assertGreaterEqual(second["maxFeePerGas"] * 10, first["maxFeePerGas"] * 11)
        self.assertGreaterEqual(
            second["maxPriorityFeePerGas"] * 10, first["maxPriorityFeePerGas"] * 11
        )
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[:1])
        self.assertIn(second["hash"], self.l1.receipts)
        self.assertEqual(sender.problems(), [])

    def test_bump_rule(self):
        """``bump`` raises a fee by 12.5%, and by at least one wei."""
        self.assertEqual(senders.bump(8 * GWEI), 9 * GWEI)
        self.assertEqual(senders.bump(1), 2)
        self.assertEqual(senders.bump(0), 1)


class RestartTests(SenderTestCase):
    """(c) After a restart nothing already on L1 is resent and nothing pending is duplicated."""

    def test_batches_on_l1_are_skipped(self):
        """With the L1 counter at 2, commands of batches 1 and 2 are passed on unsent and
        batch 3 goes out with the operator's next nonce."""
        self.l1.counter, self.l1.nonce = 2, 2
        self.feed(1, 2, 3)
        sender = self.make_sender()
        sender.startService()
        self.assertEqual(len(self.l1.sent), 1)
        self.assertEqual(self.l1.pending_nonces(), [2])
        self.assertEqual(sender.skipped, [1, 2])
        self.assertEqual(self.drained(), self.envelopes[:2])
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[2:3])

    def previous_run_sent_batch_1(self):
        self.feed(1)
        previous = self.make_sender()
        previous.startService()
        self.successResultOf(previous.stopService())
        self.assertEqual(self.l1.pending_nonces(), [0])
        self.feed(1)  # the new run's pipeline hands it the same command again
        return self.make_sender()

    def test_previous_pending_transaction_awaited(self):
        """A previous run's transaction still pending is waited for; once it is mined, the
        command is found on L1 and passed on without a second transaction."""
        sender = self.previous_run_sent_batch_1()
        sender.startService()
        self.clock.pump([1.0] * 5)
        self.assertEqual(len(self.l1.sent), 1)
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(len(self.l1.sent), 1)
        self.assertEqual(sender.skipped, [1])
        self.assertEqual(self.drained(), self.envelopes[:1])

    def test_previous_pending_transaction_replaced_when_stuck(self):
        """A previous run's transaction unmined after ``stuck_tx_timeout`` is replaced (same
        nonce, higher fees), not joined by a second nonce."""
        sender = self.previous_run_sent_batch_1()
        sender.startService()
        self.clock.pump([1.0] * 30)
        self.assertEqual([t["nonce"] for t in self.l1.sent], [0, 0])
        self.assertEqual(self.l1.pending_nonces(), [0])
        first, second = self.l1.sent
        self.assertGreaterEqual(second["maxFeePerGas"] * 10, first["maxFeePerGas"] * 11)
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[:1])


class FailureTests(SenderTestCase):
    """(d) A failed receipt stops the stage, visibly, without stopping the process."""

    def test_failed_receipt_stops_stage(self):
        """A receipt with status 0 stops the stage with one error line naming the batch and
        one ``problems()`` entry; nothing is passed on or sent afterwards, the service stays
        up."""
        self.l1.fail_nonces.add(0)
        self.feed(1)
        sender = self.make_sender()
        sender.startService()
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(len(self.errors()), 1)
        problems = sender.problems()
        self.assertEqual(len(problems), 1)
        self.assertIn("batches 1..1 failed in L1 block 101", problems[0])
        self.assertTrue(problems[0].startswith("L1 commit sender stopped: "))
        self.assertEqual(self.drained(), [])
        self.assertTrue(sender.running)
        self.feed(2)
        self.clock.pump([1.0] * 60)
        self.assertEqual(len(self.l1.sent), 1)
        self.assertEqual(len(self.errors()), 1)


class StageStopTests(SenderTestCase):
    """(d) An L1 reorg or a refused send stops the stage like a failed receipt."""

    def test_head_going_back_stops_stage(self):
        """The L1 head going back while a round waits is a reorg: one error line, one
        problem, nothing passed on."""
        self.feed(1)
        sender = self.make_sender()
        sender.startService()
        self.clock.advance(1.0)
        self.l1.head -= 5
        self.clock.advance(1.0)
        self.assertEqual(
            sender.problems(),
            ["L1 commit sender stopped: L1 reorg: the L1 head went back from 100 to 95"],
        )
        self.assertEqual(len(self.errors()), 1)
        self.l1.mine()
        self.clock.pump([1.0] * 5)
        self.assertEqual(self.drained(), [])

    def test_refused_send_stops_stage(self):
        """A send the L1 refuses for another reason than a replacement stops the stage with
        the L1's message."""
        self.l1.refuse = "insufficient funds for gas * price + value"
        self.feed(1)
        sender = self.make_sender()
        sender.startService()
        (problem,) = sender.problems()
        self.assertIn("batches 1..1 (nonce 0): insufficient funds", problem)
        self.assertEqual(len(self.errors()), 1)
        self.assertTrue(sender.running)


class FundsTests(SenderTestCase):
    """(e) An operator without funds cannot start."""

    def test_zero_balance_is_startup_error(self):
        """``prepare`` fails with ``L1SenderStartupError`` naming the operator's address."""
        self.l1.balance = 0
        sender = self.make_sender()
        failure = self.failureResultOf(
            defer.Deferred.fromCoroutine(sender.prepare()), senders.L1SenderStartupError
        )
        self.assertIn(sender.address, str(failure.value))
        self.assertIn("no funds", str(failure.value))
        self.assertFalse(sender.prepared)

    def test_funded_operator_prepares(self):
        """A funded operator prepares: chain id and the L1 counter are read."""
        self.l1.counter = 7
        sender = self.make_sender()
        self.successResultOf(defer.Deferred.fromCoroutine(sender.prepare()))
        self.assertTrue(sender.prepared)
        self.assertEqual((sender.chain_id, sender.l1_counter), (31337, 7))


class RestartAfterBumpsTests(SenderTestCase):
    """(c) A restart after the previous run had already raised its fees."""

    def test_replacement_below_previous_fees_keeps_waiting(self):
        """The previous run bumped twice; the new run's first replacement is underpriced
        against it, so it keeps waiting (no stop), outbids it on the next bumps, and the
        command is passed on once mined."""
        self.feed(1)
        previous = self.make_sender()
        previous.startService()
        self.clock.pump([1.0] * 60)
        self.assertEqual(len(self.l1.sent), 3)
        self.successResultOf(previous.stopService())
        self.feed(1)
        sender = self.make_sender()
        sender.startService()
        self.clock.pump([1.0] * 150)
        self.assertEqual(sender.problems(), [])
        self.assertEqual(self.l1.pending_nonces(), [0])
        top = self.l1.pool[0]
        self.assertGreater(top["maxFeePerGas"], self.l1.sent[2]["maxFeePerGas"])
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[:1])
        self.assertEqual(sender.problems(), [])

    def test_refused_bumps_still_climb(self):
        """The previous run bumped three times; the new run's replacements are refused until
        its fees have climbed past the previous run's, then one is accepted and mined."""
        self.feed(1)
        previous = self.make_sender()
        previous.startService()
        self.clock.pump([1.0] * 90)
        self.assertEqual(len(self.l1.sent), 4)
        self.successResultOf(previous.stopService())
        self.feed(1)
        sender = self.make_sender()
        sender.startService()
        self.clock.pump([1.0] * 130)
        self.assertEqual(len(self.l1.sent), 5)
        self.assertGreaterEqual(
            self.l1.sent[4]["maxFeePerGas"] * 10, self.l1.sent[3]["maxFeePerGas"] * 11
        )
        self.l1.mine()
        self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[:1])
        self.assertEqual(sender.problems(), [])


class _Unreachable:
    """Wraps a ``FakeSenderL1``: while ``down``, every call fails as an unreachable L1."""

    def __init__(self, l1):
        self.l1 = l1
        self.down = False

    def __getattr__(self, name):
        method = getattr(self.l1, name)

        def call(*args, **kwargs):
            if self.down:
                return defer.fail(L1Error(name, "cannot reach http://l1: connection refused"))
            return method(*args, **kwargs)

        return call


class OutageTests(SenderTestCase):
    def test_unreachable_l1_is_waited_for(self):
        """An L1 that cannot be reached mid-round (the client gave up retrying) does not stop
        the stage: the sender waits, resends the same transaction, and finishes the round."""
        self.feed(1)
        wrapped = _Unreachable(self.l1)
        sender = self.make_sender()
        sender._client = wrapped
        self.successResultOf(defer.ensureDeferred(sender.prepare()))
        wrapped.down = True
        sender.startService()
        self.clock.advance(senders.L1_RETRY_DELAY)
        self.assertEqual(sender.problems(), [])
        self.assertEqual(self.l1.sent, [])
        for _ in range(30):
            self.clock.advance(senders.L1_RETRY_DELAY)
        wrapped.down = False
        self.clock.advance(senders.L1_RETRY_DELAY)
        self.assertEqual(self.l1.pending_nonces(), [0])
        wrapped.down = True  # down again while waiting for the receipt
        self.l1.mine()
        self.clock.advance(1.0)
        self.clock.advance(senders.L1_RETRY_DELAY)
        self.assertEqual(len(self.outbound), 0)
        wrapped.down = False
        for _ in range(3):
            self.clock.advance(1.0)
        self.assertEqual(self.drained(), self.envelopes[:1])
        self.assertEqual(sender.problems(), [])
        self.assertEqual(len(self.l1.sent), 1)
        warnings = [e for e in self.events if e["log_level"].name == "warn"]
        self.assertTrue(warnings)
