"""The inclusion watcher and the eth_blockNumber sampler against an in-memory chain."""

from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from tests.load.fake_chain import FakeChain
from zkos_tw.load.client import JsonRpcClient
from zkos_tw.load.stats import RunRecord
from zkos_tw.load.watch import MAX_BLOCKS, BlockNumberSampler, InclusionWatcher, StateReader


def result_of(deferred):
    outcome = []
    deferred.addBoth(outcome.append)
    if hasattr(outcome[0], "raiseException"):
        outcome[0].raiseException()
    return outcome[0]


class InclusionWatcherTests(TestCase):
    def setUp(self):
        self.clock = Clock()
        self.chain = FakeChain()
        self.record = RunRecord()
        self.watcher = InclusionWatcher(JsonRpcClient(self.chain), self.clock, self.record, 0)

    def test_marks_ours_with_latency(self):
        """A block with two of ours and one other: two latencies, the block's counts."""
        self.watcher.sent(["0xaa", "0xbb"], at=0.0)
        self.chain.blocks.append(["0xaa", "0xcc", "0xbb"])
        self.clock.advance(0.25)
        self.assertEqual(result_of(ensureDeferred(self.watcher.poll_once())), 2)
        self.assertEqual(self.record.inclusion_latencies, [0.25, 0.25])
        self.assertEqual(self.record.blocks, {1: 2})
        self.assertEqual(self.record.block_sizes, {1: 3})
        self.assertEqual(self.record.last_included, 0.25)
        self.assertEqual(self.record.block_seen, {1: 0.25})
        self.assertEqual(self.watcher.in_flight, {})

    def test_refused_are_forgotten(self):
        self.watcher.sent(["0xaa"], at=0.0)
        self.watcher.refused("0xaa")
        self.chain.blocks.append(["0xaa"])
        self.assertEqual(result_of(ensureDeferred(self.watcher.poll_once())), 0)

    def test_fetch_at_most_max_blocks_per_poll(self):
        """A long gap is fetched in slices of MAX_BLOCKS blocks."""
        self.chain.blocks.extend([] for _ in range(MAX_BLOCKS + 50))
        result_of(ensureDeferred(self.watcher.poll_once()))
        self.assertEqual(self.watcher.last_block, MAX_BLOCKS)
        result_of(ensureDeferred(self.watcher.poll_once()))
        self.assertEqual(self.watcher.last_block, MAX_BLOCKS + 50)

    def test_no_new_block(self):
        self.assertEqual(result_of(ensureDeferred(self.watcher.poll_once())), 0)
        self.assertEqual(self.chain.calls, ["eth_blockNumber"])


class SamplerTests(TestCase):
    def test_samples_until_stopped(self):
        """One eth_blockNumber per interval; errors are counted, not raised."""
        clock = Clock()
        chain = FakeChain()
        record = RunRecord()
        sampler = BlockNumberSampler(JsonRpcClient(chain), clock, record, interval=0.05)
        running = ensureDeferred(sampler.run())
        clock.advance(0.05)
        clock.advance(0.05)
        chain.fail_http = True
        clock.advance(0.05)
        sampler.stop()
        clock.advance(0.05)
        self.assertIsNone(result_of(running))
        self.assertEqual(len(record.block_number_latencies), 3)
        self.assertEqual(record.block_number_errors, 1)


class StateReaderTests(TestCase):
    def test_reads_at_the_rate_until_stopped(self):
        """Calls start at ``rate`` per second; eth_getBalance timed, failures counted; the
        result carries them under ``reads``."""
        clock = Clock()
        chain = FakeChain()
        record = RunRecord()
        reader = StateReader(JsonRpcClient(chain), clock, record, 20.0, ["0x" + "11" * 20])
        running = ensureDeferred(reader.run())
        for _ in range(10):
            clock.advance(0.05)
        chain.fail_http = True
        clock.advance(0.05)
        reader.stop()
        clock.advance(0.05)
        self.assertIsNone(result_of(running))
        self.assertEqual(len(record.read_latencies["eth_getBalance"]), 10)
        self.assertEqual(record.read_errors, 1)
        reads = record.result()["reads"]
        self.assertEqual(reads["rate"], 20.0)
        self.assertEqual(reads["latency_ms"]["eth_getBalance"]["samples"], 10)

    def test_token_reads_alternate_with_balances(self):
        reader = StateReader(None, Clock(), RunRecord(), 1.0, ["0x" + "ab" * 20], "0x" + "77" * 20)
        self.assertEqual(reader._request(0), ("eth_getBalance", ["0x" + "ab" * 20, "latest"]))
        method, (call, tag) = reader._request(1)
        self.assertEqual(method, "eth_call")
        self.assertEqual(call["to"], "0x" + "77" * 20)
        self.assertEqual(call["data"], "0x70a08231" + "00" * 12 + "ab" * 20)
