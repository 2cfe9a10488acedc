"""The external node's checks with fakes: ``ExternalNodeFollower``, ``L1TransactionCheck``,
the block dump, ``CatchUpMonitor`` (the ``en_stall_timeout`` watchdog) and the replay client's
reconnect backoff.

No sockets and no real time: a ``MemoryReactorClock`` (the follower stops it instead of the
process exiting), the real ``L1TransactionQueue`` fed by hand as the L1 watcher would, a fake
sequencer, and for the output-hash check the real ``Sequencer`` of ``tests.sequencer``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import LogLevel, capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.execution.test_l1_transactions import l1_tx
from tests.replay.test_stream import make_record
from tests.sequencer.test_replay import Node
from tests.sequencer.test_service import signed
from zkos_tw.execution.l1_transactions import UPGRADE_TX_TYPE
from zkos_tw.replay.catch_up import PROBLEM, CatchUpMonitor, check_interval
from zkos_tw.replay.client import ReplayClientService, ReplayStreamError, retry_policy
from zkos_tw.replay.external_node import ExternalNodeFollower
from zkos_tw.replay.framing import encode_request
from zkos_tw.sequencer.commands import ReplayDivergence
from zkos_tw.sequencer.l1_queue import L1TransactionQueue
from zkos_tw.status.node_status import NodeStatus


class FakeSequencer:
    """``tip`` and ``replay_block`` as the follower uses them; ``fail`` makes the next replay
    raise that error instead of storing the block."""

    def __init__(self, number: int = 0, timestamp: int = 1_700_000_000):
        self.tip = SimpleNamespace(number=number, timestamp=timestamp)
        self.replayed: list[int] = []
        self.fail: Exception | None = None

    async def replay_block(self, record):
        if self.fail is not None:
            raise self.fail
        self.replayed.append(record.context.number)
        self.tip = SimpleNamespace(number=record.context.number, timestamp=record.context.timestamp)
        return SimpleNamespace(number=record.context.number)


def record_after(number: int, timestamp: int, transactions, *, priority_id: int = 0):
    """Block ``number + 1`` on top of a block ``number`` with ``timestamp``."""
    base = make_record(number + 1)
    context = dataclasses.replace(base.context, timestamp=timestamp + 1)
    return dataclasses.replace(
        base,
        context=context,
        transactions=tuple(transactions),
        previous_block_timestamp=timestamp,
        starting_l1_priority_id=priority_id,
    )


class FollowerCase(SynchronousTestCase):
    """A follower over a ``FakeSequencer`` on a running ``MemoryReactorClock``."""

    def setUp(self):
        self.reactor = MemoryReactorClock()
        self.reactor.advance(1_000)
        self.reactor.running = True
        self.sequencer = FakeSequencer()
        self.queue = L1TransactionQueue()
        self.status = NodeStatus("external_node")
        self.dumps = os.path.abspath(self.mktemp())
        self.exits = []
        self.follower = ExternalNodeFollower(
            self.reactor,
            self.sequencer,
            self.queue,
            self.status,
            self.dumps,
            _exit=lambda: self.exits.append(1),
        )

    def record(self, transactions=(b"\x02l2",), **kwargs):
        tip = self.sequencer.tip
        return record_after(tip.number, tip.timestamp, transactions, **kwargs)

    def diverge(self, record, field: str) -> tuple[str, dict]:
        """Replay ``record``, expect a divergence on ``field``; (the line, the dump document)."""
        with capturedLogs() as events:
            failure = self.failureResultOf(self.follower.on_record(record), ReplayDivergence)
        self.assertEqual(failure.value.field, field)
        critical = [e for e in events if e["log_level"] == LogLevel.critical]
        self.assertEqual(len(critical), 1, events)
        line = critical[0]["line"]
        number = record.context.number
        self.assertTrue(line.startswith(f"divergence at block {number}: {field} differs: "), line)
        self.assertNotIn("\n", line)
        self.assertEqual(self.follower.diverged, line)
        # health: the problem, the failed phase; the node stops and then exits non-zero
        self.assertIn(f"replay: {line}", self.status.problems())
        self.assertEqual(self.status.phase, "failed")
        self.assertFalse(self.reactor.running)
        ((hook, _, _),) = self.reactor.triggers["after"]["shutdown"]
        hook()
        self.assertEqual(self.exits, [1])
        (name,) = os.listdir(self.dumps)
        self.assertEqual(name, f"dump_{number}_{int(self.reactor.seconds())}.json")
        self.assertIn(f"(dump: {os.path.join(self.dumps, name)})", line)
        with open(os.path.join(self.dumps, name)) as f:
            dump = json.load(f)
        self.assertEqual((dump["version"], dump["block"], dump["field"]), (1, number, field))
        self.assertEqual(dump["error"], str(failure.value))
        self.assertEqual(dump["record"]["context"]["block_number"], number)
        self.assertEqual(
            dump["record"]["transactions"], ["0x" + tx.hex() for tx in record.transactions]
        )
        self.assertEqual(dump["record"]["block_output_hash"], "0x" + record.block_output_hash.hex())
        return line, dump


class L1CheckTests(FollowerCase):
    """Every L1 transaction of a record equals the next one our own watcher read."""

    def test_l2_only_record_is_replayed(self):
        """No L1 transaction: nothing to wait for; the block is stored and counted."""
        self.reactor.advance(5)
        self.successResultOf(self.follower.on_record(self.record()))
        self.assertEqual(self.sequencer.replayed, [1])
        self.assertEqual((self.follower.blocks_replayed, self.follower.last_block_at), (1, 1005))
        self.assertEqual(self.status.problems(), [])

    def test_waits_for_our_watcher(self):
        """A priority transaction our watcher has not read yet: the replay waits, then goes on
        once the watcher delivers the same transaction."""
        deposit = l1_tx(nonce=0, value=5)
        d = self.follower.on_record(self.record([deposit.raw, b"\x02l2"]))
        self.assertNoResult(d)
        self.assertEqual(self.follower._l1_check.waiting_for, "priority transaction 0")
        self.assertEqual(self.sequencer.replayed, [])
        self.queue.push(l1_tx(nonce=1))  # a later id does not unblock id 0
        self.assertNoResult(d)
        self.queue.push(deposit)
        self.successResultOf(d)
        self.assertIsNone(self.follower._l1_check.waiting_for)
        self.assertEqual(self.sequencer.replayed, [1])
        self.assertEqual(self.queue._listeners, [])

    def test_priority_ids_count_from_the_record(self):
        """The k-th priority transaction is compared with id ``starting_l1_priority_id + k``."""
        for nonce in range(3, 6):
            self.queue.push(l1_tx(nonce=nonce))
        record = self.record([l1_tx(nonce=n).raw for n in (3, 4)], priority_id=3)
        self.successResultOf(self.follower.on_record(record))
        self.assertEqual(self.sequencer.replayed, [1])

    def test_waits_for_the_upgrade_transaction(self):
        """Block 1's upgrade transaction waits for the watcher's ``set_upgrade``."""
        upgrade = l1_tx(tx_type=UPGRADE_TX_TYPE, nonce=29)
        d = self.follower.on_record(self.record([upgrade.raw]))
        self.assertNoResult(d)
        self.assertEqual(self.follower._l1_check.waiting_for, "the genesis upgrade transaction")
        self.queue.set_upgrade(upgrade)
        self.successResultOf(d)

    def test_mismatch_is_a_divergence(self):
        """The record's deposit differs from what our L1 says: refused before execution, dump,
        health, one line naming the block and ``transactions[1]``."""
        ours = l1_tx(nonce=0, value=5)
        self.queue.push(ours)
        theirs = l1_tx(nonce=0, value=6)
        line, _ = self.diverge(self.record([b"\x02l2", theirs.raw]), "transactions[1]")
        self.assertIn("priority transaction 0", line)
        self.assertIn(f"ours 0x{ours.hash.hex()}", line)
        self.assertEqual(self.sequencer.replayed, [])

    def test_upgrade_mismatch_is_a_divergence(self):
        """A different upgrade transaction is refused as well."""
        self.queue.set_upgrade(l1_tx(tx_type=UPGRADE_TX_TYPE, nonce=29))
        theirs = l1_tx(tx_type=UPGRADE_TX_TYPE, nonce=30)
        line, _ = self.diverge(self.record([theirs.raw]), "transactions[0]")
        self.assertIn("the genesis upgrade transaction", line)


class FollowerChecksTests(FollowerCase):
    """``previous_block_timestamp``, the sequencer's divergences, and what follows one."""

    def test_previous_timestamp_mismatch(self):
        """A record whose ``previous_block_timestamp`` is not our tip's: refused unexecuted."""
        record = dataclasses.replace(self.record(), previous_block_timestamp=1_699_999_999)
        line, _ = self.diverge(record, "previous_block_timestamp")
        self.assertIn("previous_block_timestamp 1699999999, our block 0 has 1700000000", line)
        self.assertEqual(self.sequencer.replayed, [])

    def test_sequencer_divergence_names_its_field(self):
        """A divergence found while executing (here: the output hash) is reported with the
        sequencer's field."""
        self.sequencer.fail = ReplayDivergence("block 1: output hash differs", "block_output_hash")
        line, _ = self.diverge(self.record(), "block_output_hash")
        self.assertEqual(line.split(" differs: ")[1].split(" (dump: ")[0], "output hash differs")

    def test_nothing_after_a_divergence(self):
        """Once diverged, later records are refused without executing them, and the node is
        stopped once."""
        self.diverge(
            dataclasses.replace(self.record(), previous_block_timestamp=1),
            "previous_block_timestamp",
        )
        self.failureResultOf(self.follower.on_record(self.record()), ReplayDivergence)
        self.assertEqual(self.sequencer.replayed, [])
        self.assertEqual(len(self.reactor.triggers["after"]["shutdown"]), 1)

    def test_empty_record_is_a_divergence(self):
        """A record without transactions (only the synthetic genesis record has none) is
        refused, not silently skipped (reference §4.5)."""
        line, _ = self.diverge(self.record(()), "transactions")
        self.assertIn("no transactions", line)
        self.assertEqual(self.sequencer.replayed, [])

    def test_unwritable_dump_directory(self):
        """A dump that cannot be written still gives the one line, saying why."""
        open(self.dumps, "w").close()  # a file where the directory should be
        record = dataclasses.replace(self.record(), previous_block_timestamp=1)
        with capturedLogs() as events:
            self.failureResultOf(self.follower.on_record(record), ReplayDivergence)
        (line,) = [e["line"] for e in events if e["log_level"] == LogLevel.critical]
        self.assertRegex(line, r"\(dump: not written: .+\)$")
        self.assertEqual(self.status.phase, "failed")

    def test_stream_failure_stops_the_node(self):
        """The replay stream failing for good: health problem, failed phase, exit 1."""
        with capturedLogs() as events:
            self.follower.stream_failed(Failure(ReplayStreamError("got block 5, expected 3")))
        self.assertEqual(self.status.problems(), ["replay: got block 5, expected 3"])
        self.assertEqual(self.status.phase, "failed")
        self.assertEqual(len([e for e in events if e["log_level"] == LogLevel.critical]), 1)
        ((hook, _, _),) = self.reactor.triggers["after"]["shutdown"]
        hook()
        self.assertEqual(self.exits, [1])


class OutputHashTests(SynchronousTestCase):
    """The follower over the real ``Sequencer``: a tampered ``block_output_hash``."""

    def test_output_hash_mismatch(self):
        """The main node's record with another output hash: nothing stored, a dump naming
        ``block_output_hash``, and the original record replays fine afterwards elsewhere."""
        reactor = MemoryReactorClock()
        reactor.advance(1_700_000_000)
        reactor.running = True
        main = Node(self, reactor)
        main.mempool.add(signed(0, value=3))
        reactor.advance(1)
        record = main.record(1)
        follower_node = Node(self, reactor)
        status = NodeStatus("external_node")
        dumps = os.path.abspath(self.mktemp())
        follower = ExternalNodeFollower(
            reactor, follower_node.sequencer, L1TransactionQueue(), status, dumps, _exit=list
        )
        bad = dataclasses.replace(record, block_output_hash=b"\x22" * 32)
        with capturedLogs() as events:
            self.failureResultOf(follower.on_record(bad), ReplayDivergence)
        (line,) = [e["line"] for e in events if e["log_level"] == LogLevel.critical]
        self.assertTrue(line.startswith("divergence at block 1: block_output_hash differs: "), line)
        self.assertIn("0x" + "22" * 32, line)
        self.assertEqual(follower_node.sequencer.tip.number, 0)
        self.assertIsNone(follower_node.chain.storage.wal_record(1))
        (name,) = os.listdir(dumps)
        with open(os.path.join(dumps, name)) as f:
            self.assertEqual(json.load(f)["field"], "block_output_hash")
        self.assertEqual(status.phase, "failed")


class CatchUpMonitorTests(SynchronousTestCase):
    """Progress lines and the stall watchdog (``en_stall_timeout``) on a ``Clock``."""

    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(100)
        self.follower = SimpleNamespace(tip=lambda: self.ours, last_block_at=100.0)
        self.ours = 10
        self.main = 10
        self.status = NodeStatus("external_node")
        self.monitor = CatchUpMonitor(
            self.clock, self.follower, lambda: defer.succeed(self.main), self.status, 30.0
        )

    def test_interval(self):
        """A few looks per stall timeout, between 0.2 s and 5 s."""
        self.assertEqual([check_interval(t) for t in (0.1, 3, 30, 300)], [0.2, 1.0, 5.0, 5.0])

    def test_progress_line(self):
        """Behind: blocks left, blocks/s over the last interval and the ETA."""
        self.main = 110
        self.monitor.observe(self.main)
        self.clock.advance(5)
        self.ours = 30
        self.follower.last_block_at = 105
        with capturedLogs() as events:
            report = self.monitor.observe(self.main)
        self.assertEqual(
            report,
            {
                "ours": 30,
                "main": 110,
                "left": 80,
                "blocks_per_second": 4.0,
                "eta_seconds": 20.0,
                "stalled": False,
            },
        )
        (event,) = events
        self.assertEqual(
            event["log_format"].format(**event),
            "catch-up: block 30 of 110, 80 blocks left, 4.0 blocks/s, ETA 20 s",
        )

    def test_stall_marks_unhealthy_until_a_block_arrives(self):
        """Behind and no block for ``en_stall_timeout``: the ``en_stall`` problem; the next
        block clears it."""
        self.monitor.startService()
        self.addCleanup(self.monitor.stopService)
        self.main = 12
        for _ in range(29):
            self.clock.advance(1)
        self.assertEqual(self.status.problems(), [])
        self.clock.advance(1)
        self.assertEqual(
            self.status.problems(),
            [
                f"{PROBLEM}: no block for 30 s while the main node is 2 blocks ahead (block 10 of 12)"
            ],
        )
        self.ours, self.follower.last_block_at = 11, self.clock.seconds()
        self.clock.advance(5)
        self.assertEqual(self.status.problems(), [])

    def test_quiet_but_caught_up_is_healthy(self):
        """No block for long while the main node is not ahead: no problem (an idle chain)."""
        self.monitor.startService()
        self.addCleanup(self.monitor.stopService)
        self.clock.advance(300)
        self.assertEqual(self.status.problems(), [])
        self.assertFalse(self.monitor.last_report["stalled"])

    def test_main_node_not_answering(self):
        """The main node not answering keeps the status and warns once per outage."""
        answers = []
        self.monitor._main_tip = lambda: answers.pop(0) if answers else defer.fail(OSError("down"))
        with capturedLogs() as events:
            for _ in range(3):
                self.monitor.check()
            answers.append(defer.succeed(10))
            self.monitor.check()
            self.monitor.check()
        warnings = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 2)
        self.assertEqual(warnings[0]["error"], "down")


class FakeEndpoint:
    """A client endpoint that refuses ``refuse`` connections, then connects over
    ``StringTransport``s kept in ``transports``."""

    def __init__(self, clock, refuse: int):
        self.clock = clock
        self.refuse = refuse
        self.attempts: list[float] = []
        self.transports: list[StringTransport] = []
        self.protocols: list = []

    def connect(self, factory):
        self.attempts.append(self.clock.seconds())
        if self.refuse > 0:
            self.refuse -= 1
            return defer.fail(ConnectionRefusedError())
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        self.transports.append(transport)
        self.protocols.append(protocol)
        protocol.makeConnection(transport)
        return defer.succeed(protocol)


def run_next_call(clock: task.Clock) -> None:
    """Advance ``clock`` to its next scheduled call exactly."""
    when = min(call.getTime() for call in clock.getDelayedCalls())
    clock.advance(when - clock.seconds())


class ReconnectBackoffTests(SynchronousTestCase):
    """The replay client reconnects with exponential backoff: 0.1 s doubling to ``max_delay``,
    reset once a connection is made, each time asking for the next block."""

    def test_policy(self):
        """Without jitter: 0.1, 0.2, 0.4 ... capped at ``max_delay``; jitter adds at most 10 %."""
        policy = retry_policy(2.0, jitter=lambda: 0.0)
        self.assertEqual([policy(n) for n in range(1, 8)], [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0])
        jittered = retry_policy(2.0, jitter=lambda: 1.0)
        self.assertAlmostEqual(jittered(6), 2.2)
        self.assertAlmostEqual(jittered(1), 0.11)

    def test_reconnects_with_backoff_from_the_next_block(self):
        clock = task.Clock()
        endpoint = FakeEndpoint(clock, refuse=5)
        client = ReplayClientService(
            clock, endpoint, 7, lambda record: None, max_delay=1.0, _jitter=lambda: 0.0
        )
        client.startService()
        self.addCleanup(client.stopService)
        while not endpoint.transports:
            run_next_call(clock)
        self.assertEqual([round(t, 2) for t in endpoint.attempts], [0.0, 0.1, 0.3, 0.7, 1.5, 2.5])
        (transport,) = endpoint.transports
        self.assertEqual(transport.value(), encode_request(7, None))
        self.assertEqual(client.connections, 1)
        # the server goes away: the next attempt comes after the first delay again
        client.next_block = 9
        endpoint.refuse = 0
        endpoint.protocols[0].connectionLost(Failure(ConnectionRefusedError()))
        lost_at = clock.seconds()
        run_next_call(clock)
        self.assertEqual(round(endpoint.attempts[-1] - lost_at, 2), 0.1)
        self.assertEqual(endpoint.transports[-1].value(), encode_request(9, None))
        self.assertFalse(client.failed.called)
