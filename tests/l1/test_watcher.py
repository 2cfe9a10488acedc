"""The priority-transaction watcher, its queue and the genesis upgrade lookup, against an
in-memory L1 with a ``Clock`` (reference §7.3, §7.6)."""

from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.execution.test_l1_transactions import canonical
from tests.l1.helpers import FakeL1, run
from zkos_tw.execution.l1_transactions import UPGRADE_TX_TYPE, L1Transaction
from zkos_tw.hashing import blake2s256
from zkos_tw.interfaces import IPriorityTxSink, IPriorityTxSource
from zkos_tw.l1.queue import PriorityTxQueue
from zkos_tw.l1.watcher import (
    L1WatcherError,
    PriorityTxWatcher,
    fetch_genesis_upgrade,
    find_start_block,
)


def priority_fields(priority_id: int, value: int = 1) -> list:
    """A valid priority tx with the given id (nonce)."""
    return canonical(nonce=priority_id, value=value, reserved=[10**18, 0xF00D, 0, 0])


def priority_tx(priority_id: int) -> L1Transaction:
    return L1Transaction.from_canonical(priority_fields(priority_id))


class QueueTests(SynchronousTestCase):
    """``PriorityTxQueue``: order, bound, hand-over."""

    def test_interfaces(self):
        queue = PriorityTxQueue()
        verifyObject(IPriorityTxSink, queue)
        verifyObject(IPriorityTxSource, queue)

    def test_order_enforced(self):
        """Only ``next_priority_id`` is accepted; a gap or a repeat raises."""
        queue = PriorityTxQueue(next_priority_id=4)
        self.assertRaises(ValueError, queue.put, priority_tx(5))
        self.assertRaises(ValueError, queue.put, priority_tx(3))
        queue.put(priority_tx(4))
        self.assertEqual(queue.next_priority_id, 5)

    def test_bound_and_take_ready(self):
        """A full queue delays ``put`` until the sequencer takes transactions."""
        queue = PriorityTxQueue(capacity=2)
        fired = []
        for i in range(3):
            queue.put(priority_tx(i)).addCallback(fired.append)
        self.assertEqual((len(fired), len(queue)), (2, 2))
        self.assertEqual([tx.nonce for tx in queue.take_ready(limit=1)], [0])
        self.assertEqual((len(fired), len(queue)), (3, 2))
        self.assertEqual(queue.peek().nonce, 1)
        self.assertEqual([tx.nonce for tx in queue.take_ready()], [1, 2])
        self.assertEqual(queue.take_ready(), [])

    def test_get_waits(self):
        """``get`` on an empty queue fires with the next ``put``."""
        queue = PriorityTxQueue()
        got = []
        queue.get().addCallback(got.append)
        self.assertEqual(got, [])
        queue.put(priority_tx(0))
        self.assertEqual([tx.nonce for tx in got], [0])
        self.assertEqual(len(queue), 0)

    def test_cancelled_put_is_not_delivered(self):
        """A cancelled waiting put gives its id back (the watcher restarts with it)."""
        queue = PriorityTxQueue(capacity=1)
        queue.put(priority_tx(0))
        waiting = queue.put(priority_tx(1))
        waiting.addErrback(lambda f: f.trap(defer.CancelledError))
        waiting.cancel()
        self.assertEqual(queue.next_priority_id, 1)
        self.assertEqual([tx.nonce for tx in queue.take_ready()], [0])
        self.assertEqual(len(queue), 0)


class WatcherHarness:
    """A watcher over a ``FakeL1`` with a queue, driven by its ``Clock``."""

    def __init__(self, chain: FakeL1, next_priority_id: int = 0, capacity: int = 100):
        self.chain = chain
        self.client, self.clock = chain.client()
        self.queue = PriorityTxQueue(next_priority_id, capacity=capacity)
        self.fatal = []
        self.watcher = PriorityTxWatcher(
            self.client,
            FakeL1.DIAMOND,
            self.queue,
            clock=self.clock,
            on_fatal=self.fatal.append,
        )

    def turn(self, polls: int = 1) -> None:
        """Let the watcher poll ``polls`` times (flush HTTP, advance 100 ms)."""
        for _ in range(polls):
            for _ in range(50):
                self.client._stub.flush()
            self.clock.advance(0.1)

    def ids(self) -> list[int]:
        return [tx.nonce for tx in self.queue.take_ready()]


class WatcherTests(SynchronousTestCase):
    def chain_with_txs(self, blocks=(10, 20, 250), **kw) -> FakeL1:
        chain = FakeL1(**kw)
        chain.code_from_block = 5
        for priority_id, block in enumerate(blocks):
            chain.add_priority_tx(priority_fields(priority_id), block)
        chain.height = 300
        return chain

    def test_delivers_in_order_in_bounded_ranges(self):
        """From a fresh start every tx arrives once, in order; no range exceeds 100 blocks and
        the ranges are contiguous."""
        harness = WatcherHarness(self.chain_with_txs())
        harness.watcher.startService()
        harness.turn(3)
        self.assertEqual(harness.ids(), [0, 1, 2])
        self.assertEqual(harness.watcher.next_priority_id, 3)
        ranges = harness.chain.log_ranges
        self.assertEqual(ranges[0][0], 5)
        self.assertTrue(all(high - low + 1 <= 100 for low, high in ranges))
        for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False):
            self.assertEqual(low, high + 1)
        self.assertEqual(harness.watcher.next_l1_block, 301)
        harness.watcher.stopService()

    def test_when_caught_up(self):
        """``when_caught_up`` fires once everything up to the L1 head is in the sink (not while
        the watcher waits for room); later calls fire at once."""
        harness = WatcherHarness(self.chain_with_txs(), capacity=1)
        seen = []
        harness.watcher.when_caught_up().addCallback(lambda _: seen.append(len(harness.queue)))
        harness.watcher.startService()
        harness.turn(3)
        self.assertEqual(seen, [])  # id 1 waits for room
        delivered = harness.queue.take_ready(limit=1)
        harness.turn(2)
        self.assertEqual(seen, [])  # id 2 waits for room
        delivered += harness.queue.take_ready(limit=1)
        harness.turn(2)
        self.assertEqual(seen, [1])  # id 2 is in the queue
        delivered += harness.queue.take_ready()
        self.assertEqual([tx.nonce for tx in delivered], [0, 1, 2])
        self.successResultOf(harness.watcher.when_caught_up())
        harness.watcher.stopService()

    def test_new_transactions_are_picked_up(self):
        """A tx emitted after start-up arrives at a later poll."""
        harness = WatcherHarness(self.chain_with_txs())
        harness.watcher.startService()
        harness.turn(3)
        harness.chain.add_priority_tx(priority_fields(3), 305)
        harness.turn(2)
        self.assertEqual(harness.ids(), [0, 1, 2, 3])
        harness.watcher.stopService()

    def test_restart_skips_included_ids(self):
        """Restored next id 2: the start block is where the counter reached 2 (block 20),
        and id 1 in that range is skipped."""
        harness = WatcherHarness(self.chain_with_txs(), next_priority_id=2)
        start = run(harness.client, find_start_block(harness.client, FakeL1.DIAMOND, 2))
        self.assertEqual(start, 20)
        harness.watcher.startService()
        harness.turn(3)
        self.assertEqual(harness.ids(), [2])
        harness.watcher.stopService()

    def test_start_block_fallback_without_history(self):
        """L1 without historical calls (anvil --load-state) and few blocks: start at 0."""
        chain = self.chain_with_txs(history=False)
        client, _ = chain.client()
        self.assertEqual(run(client, find_start_block(client, FakeL1.DIAMOND, 1)), 0)
        harness = WatcherHarness(chain, next_priority_id=1)
        harness.watcher.startService()
        harness.turn(5)
        self.assertEqual(harness.ids(), [1, 2])
        harness.watcher.stopService()

    def test_start_block_when_next_tx_not_yet_emitted(self):
        """next id beyond the L1 counter: start at the current L1 head."""
        chain = self.chain_with_txs()
        client, _ = chain.client()
        self.assertEqual(run(client, find_start_block(client, FakeL1.DIAMOND, 9)), 300)

    def test_gap_is_fatal(self):
        """A missing priority id stops the watcher with a clear error."""
        chain = FakeL1()
        chain.add_priority_tx(priority_fields(0), 3)
        chain.add_priority_tx(priority_fields(2), 4)
        harness = WatcherHarness(chain)
        harness.watcher.startService()
        harness.turn(2)
        self.assertEqual(harness.ids(), [0])
        [error] = harness.fatal
        self.assertIsInstance(error, L1WatcherError)
        self.assertEqual(
            str(error), "gap in L1 priority transactions: expected id 1, got 2 at L1 block 4"
        )
        self.assertIs(harness.watcher.failure, error)
        self.flushLoggedErrors(L1WatcherError)

    def test_malformed_event_is_fatal(self):
        """An event whose txHash is not the hash of its transaction stops the watcher."""
        chain = FakeL1()
        chain.add_priority_tx(priority_fields(0), 3, tx_hash=b"\x01" * 32)
        harness = WatcherHarness(chain)
        harness.watcher.startService()
        harness.turn(2)
        [error] = harness.fatal
        self.assertIn("NewPriorityRequest at L1 block 0x3 log index 0x0: txHash 0x0101", str(error))
        self.assertEqual(harness.ids(), [])
        self.flushLoggedErrors(L1WatcherError)

    def test_invalid_transaction_type_is_fatal(self):
        """A §7.3 rule broken inside the event names the rule."""
        chain = FakeL1()
        chain.add_priority_tx(canonical(nonce=0, txType=0x71), 3)
        harness = WatcherHarness(chain)
        harness.watcher.startService()
        harness.turn(2)
        [error] = harness.fatal
        self.assertIn("invalid transaction type: 0x71", str(error))
        self.flushLoggedErrors(L1WatcherError)

    def test_undecodable_event_is_fatal(self):
        """Event data that is not the event's ABI is a clear error."""
        chain = FakeL1()
        chain.add_priority_tx(priority_fields(0), 3, data=b"\x00" * 10)
        harness = WatcherHarness(chain)
        harness.watcher.startService()
        harness.turn(2)
        [error] = harness.fatal
        self.assertIn("malformed event data", str(error))
        self.flushLoggedErrors(L1WatcherError)

    def test_l1_outage_is_reported_and_survived(self):
        """L1 down: the watcher keeps running, health says unreachable; L1 back: it resumes."""
        chain = self.chain_with_txs()
        harness = WatcherHarness(chain)
        harness.watcher.startService()
        harness.turn(3)
        self.assertEqual(harness.ids(), [0, 1, 2])
        chain.down = True
        harness.turn(40)
        health = harness.watcher.health
        self.assertFalse(health.reachable)
        self.assertEqual(health.problems(), ["L1 unreachable: HTTP 503 from http://fake-l1/"])
        chain.down = False
        chain.add_priority_tx(priority_fields(3), 320)
        harness.turn(60)
        self.assertTrue(health.reachable)
        self.assertEqual(harness.ids(), [3])
        self.assertEqual(harness.fatal, [])
        harness.watcher.stopService()

    def test_backpressure(self):
        """A full queue holds the watcher: nothing is lost or repeated."""
        harness = WatcherHarness(self.chain_with_txs(), capacity=1)
        harness.watcher.startService()
        harness.turn(3)
        self.assertEqual(len(harness.queue), 1)
        self.assertEqual(harness.watcher.next_priority_id, 1)
        seen = harness.ids()
        harness.turn(2)
        seen += harness.ids()
        harness.turn(2)
        seen += harness.ids()
        self.assertEqual(seen, [0, 1, 2])
        harness.watcher.stopService()

    def test_stop_while_waiting(self):
        """Stopping the service cancels the loop without a fatal error."""
        harness = WatcherHarness(self.chain_with_txs(), capacity=1)
        harness.watcher.startService()
        harness.turn(3)
        harness.watcher.stopService()
        harness.turn(3)
        self.assertEqual(harness.fatal, [])
        self.assertEqual(harness.ids(), [0])


class StopTests(SynchronousTestCase):
    def test_stop_with_a_request_in_flight(self):
        """Stopping while an L1 request is in flight is a stop whatever error the cancelled
        request ends with (treq wraps the cancellation): no fatal call, nothing logged."""
        chain = FakeL1()
        chain.code_from_block = 5
        chain.height = 300
        harness = WatcherHarness(chain)
        harness.watcher.startService()  # the first request is sent, not answered
        loop = harness.watcher._loop
        harness.watcher.stopService()
        self.assertEqual(harness.fatal, [])
        # The same path when the cancelled request fails with something else than CancelledError:
        harness.watcher._stopped_or_failed(Failure(RuntimeError("request generation failed")))
        self.assertEqual(harness.fatal, [])
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertIsNotNone(loop)
        # Nothing keeps polling after the stop: no timer left, no request answered later.
        harness.turn(3)
        self.assertEqual(harness.clock.getDelayedCalls(), [])


class GenesisUpgradeTests(SynchronousTestCase):
    def upgrade_fields(self):
        return canonical(txType=UPGRADE_TX_TYPE, nonce=28, maxFeePerGas=0, reserved=[0, 0, 0, 0])

    def test_found_at_code_block(self):
        """The one GenesisUpgrade log, read at the block where the proxy got code."""
        chain = FakeL1()
        chain.code_from_block = 7
        chain.add_genesis_upgrade(self.upgrade_fields(), 7, protocol_version=28, deps=[b"\x01"])
        chain.height = 50
        client, _ = chain.client()
        upgrade = run(client, fetch_genesis_upgrade(client, FakeL1.DIAMOND))
        self.assertEqual(upgrade.tx.tx_type, 0x7E)
        self.assertEqual((upgrade.protocol_version, upgrade.l1_block), (28, 7))
        self.assertEqual(upgrade.factory_deps, (b"\x01",))
        self.assertEqual(upgrade.preimages(), [(blake2s256(b"\x01"), b"\x01")])
        self.assertEqual(chain.log_ranges, [(7, 7)])

    def test_fallback_whole_range(self):
        """Without historical reads the whole chain is searched."""
        chain = FakeL1(history=False)
        chain.add_genesis_upgrade(self.upgrade_fields(), 3)
        chain.height = 10
        client, _ = chain.client()
        upgrade = run(client, fetch_genesis_upgrade(client, FakeL1.DIAMOND))
        self.assertEqual(upgrade.tx.nonce, 28)

    def test_exactly_one_required(self):
        """None or two GenesisUpgrade logs is an error naming the count."""
        for count in (0, 2):
            chain = FakeL1()
            for _ in range(count):
                chain.add_genesis_upgrade(self.upgrade_fields(), 3)
            chain.height = 10
            client, _ = chain.client()
            d = fetch_genesis_upgrade(client, FakeL1.DIAMOND)
            e = self.assertRaises(L1WatcherError, run, client, d)
            self.assertIn(f"found {count}", str(e))

    def test_wrong_type(self):
        """A 0x7f transaction in the GenesisUpgrade event is refused."""
        chain = FakeL1()
        chain.add_genesis_upgrade(canonical(), 3)
        chain.height = 10
        client, _ = chain.client()
        d = fetch_genesis_upgrade(client, FakeL1.DIAMOND)
        e = self.assertRaises(L1WatcherError, run, client, d)
        self.assertIn("invalid transaction type: 0x7f, expected 0x7e", str(e))
