"""``LoadRun`` against an in-memory chain on a fake clock: funding, submission, inclusion."""

from __future__ import annotations

from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from tests.load.fake_chain import FakeChain
from zkos_tw.execution.transactions import recover_sender
from zkos_tw.load import token
from zkos_tw.load.client import JsonRpcClient
from zkos_tw.load.runner import RICH_KEY, LoadConfig, LoadError, LoadRun
from zkos_tw.load.signing import Signer

RICH = Signer.from_hex(RICH_KEY)


def drive(clock: Clock, chain: FakeChain, deferred, mine_every: int = 5, limit: int = 20_000):
    """Advance the clock 10 ms at a time, mining every ``mine_every`` ticks, until ``deferred``
    has a result; return it (or raise its failure)."""
    outcome = []
    deferred.addBoth(outcome.append)
    for tick in range(limit):
        if outcome:
            break
        clock.advance(0.01)
        if tick % mine_every == 0:
            chain.mine()
    else:
        raise AssertionError("the run did not finish")
    result = outcome[0]
    if hasattr(result, "raiseException"):
        result.raiseException()
    return result


def start(config: LoadConfig, chain: FakeChain, clock: Clock):
    run = LoadRun(
        config,
        clock,
        _client_factory=lambda url, size: JsonRpcClient(chain),
        _cpu_time=lambda: 0.0,
    )
    return ensureDeferred(run.run())


class LoadRunTests(TestCase):
    def setUp(self):
        self.clock = Clock()
        self.chain = FakeChain(rich=RICH.address)

    def test_transfers_all_included(self):
        """Every planned transfer is sent once, in sender/nonce order, and seen in a block."""
        config = LoadConfig(senders=4, txs=50, batch_size=8, connections=2, seed=b"s")
        record = drive(self.clock, self.chain, start(config, self.chain, self.clock))
        result = record.result()
        self.assertEqual(result["planned"], 50)
        self.assertEqual(result["submitted"], 50)
        self.assertEqual(result["included"], 50)
        self.assertEqual(result["not_included"], 0)
        self.assertEqual(result["errors"], {})
        self.assertEqual(result["chain_id"], 270)
        self.assertEqual(result["funding_blocks"], 1)
        self.assertEqual(result["blocks"]["with_our_txs"], len(record.blocks))
        self.assertEqual(sum(record.blocks.values()), 50)
        funding, load = self.chain.sent[:4], self.chain.sent[4:]
        self.assertEqual([tx.nonce for tx in funding], [0, 1, 2, 3])
        self.assertTrue(all(recover_sender(tx) == RICH.address_bytes for tx in funding))
        self.assertEqual(len(load), 50)
        # each sender's nonces arrive in order (two connections, but answers here are at once)
        by_sender = {}
        for tx in load:
            by_sender.setdefault(recover_sender(tx), []).append(tx.nonce)
        self.assertEqual(sorted(len(n) for n in by_sender.values()), [12, 12, 13, 13])
        for nonces in by_sender.values():
            self.assertEqual(nonces, list(range(len(nonces))))
        # latencies: sent at one tick, seen after at least one mining round
        self.assertEqual(len(record.inclusion_latencies), 50)
        self.assertTrue(all(latency >= 0 for latency in record.inclusion_latencies))
        self.assertGreater(len(record.block_number_latencies), 0)

    def test_fees_follow_the_base_fee(self):
        """The fee cap is twice the newest base fee plus the priority fee."""
        self.chain.base_fee = 7_000
        config = LoadConfig(senders=1, txs=2, priority_fee=3, seed=b"f")
        drive(self.clock, self.chain, start(config, self.chain, self.clock))
        self.assertEqual({tx.max_fee_per_gas for tx in self.chain.sent}, {14_003})
        self.assertEqual({tx.max_priority_fee_per_gas for tx in self.chain.sent}, {3})

    def test_refusals_are_grouped_and_not_awaited(self):
        """A refused transaction counts as an error by message and is not waited for."""
        config = LoadConfig(senders=1, txs=3, batch_size=3, seed=b"r", timeout=1)
        run = LoadRun(
            config, self.clock, _client_factory=lambda url, size: JsonRpcClient(self.chain)
        )
        original = self.chain.eth_sendRawTransaction
        load_seen = []

        def refuse_third(raw_hex):
            if self.chain.receipts:  # funding is mined: these are the run's transactions
                load_seen.append(raw_hex)
                if len(load_seen) == 3:
                    raise ValueError("[0x" + "ab" * 32 + "]: nonce too low 7")
            return original(raw_hex)

        self.chain.eth_sendRawTransaction = refuse_third
        record = drive(self.clock, self.chain, ensureDeferred(run.run()))
        result = record.result()
        self.assertEqual(result["submitted"], 2)
        self.assertEqual(result["included"], 2)
        self.assertEqual(result["rejected"], 1)
        self.assertEqual(result["errors"], {"[<hash>]: nonce too low <n>": 1})
        self.assertFalse(result["timed_out"])

    def test_timeout_when_nothing_is_mined(self):
        """Accepted transactions never seen in a block: the run ends after the timeout."""
        config = LoadConfig(senders=2, txs=4, seed=b"t", timeout=0.5)
        deferred = start(config, self.chain, self.clock)
        # mine the funding block, then nothing more
        outcome = []
        deferred.addBoth(outcome.append)
        for _tick in range(500):
            if outcome:
                break
            self.clock.advance(0.01)
            if len(self.chain.sent) <= 2:
                self.chain.mine()
        result = outcome[0].result()
        self.assertTrue(result["timed_out"])
        self.assertEqual(result["submitted"], 4)
        self.assertEqual(result["included"], 0)
        self.assertEqual(result["not_included"], 4)
        self.assertIsNone(result["included_tps"])

    def test_erc20_deploys_and_distributes_first(self):
        """erc20: deployment, ETH per sender, tokens per sender, then token transfers."""
        config = LoadConfig(senders=3, txs=6, kind="erc20", seed=b"e")
        record = drive(self.clock, self.chain, start(config, self.chain, self.clock))
        self.assertEqual(record.result()["included"], 6)
        deploy = self.chain.sent[0]
        self.assertIsNone(deploy.to)
        self.assertTrue(deploy.data.startswith(token.CREATION_CODE))
        eth, tokens, load = self.chain.sent[1:4], self.chain.sent[4:7], self.chain.sent[7:]
        self.assertTrue(all(tx.value > 0 and tx.data == b"" for tx in eth))
        token_address = {tx.to for tx in tokens + load}
        self.assertEqual(len(token_address), 1)
        self.assertTrue(all(tx.data[:4] == token.TRANSFER_SELECTOR for tx in tokens + load))
        self.assertEqual(len(load), 6)

    def test_rich_balance_too_low(self):
        """A key that cannot pay for the run stops it with one clear line."""
        self.chain.balances[RICH.address.lower()] = 10
        config = LoadConfig(senders=2, txs=4, seed=b"p")
        with self.assertRaises(LoadError) as caught:
            drive(self.clock, self.chain, start(config, self.chain, self.clock))
        self.assertIn("has 10 wei; this run needs", str(caught.exception))

    def test_unreachable_node(self):
        """HTTP failure at the start: a LoadError naming the URL."""
        self.chain.fail_http = True
        config = LoadConfig(rpc_url="http://127.0.0.1:1", senders=1, txs=1)
        with self.assertRaises(LoadError) as caught:
            drive(self.clock, self.chain, start(config, self.chain, self.clock))
        self.assertIn("cannot read the chain at http://127.0.0.1:1", str(caught.exception))

    def test_duration_stops_submission(self):
        """With a duration and a rate, submission stops when the time is up."""
        config = LoadConfig(
            senders=2, txs=100, batch_size=10, rate=100, duration=0.25, connections=1, seed=b"d"
        )
        record = drive(self.clock, self.chain, start(config, self.chain, self.clock))
        result = record.result()
        # 100 tx/s in batches of 10: a batch every 100 ms; 0.25 s lets three go out
        self.assertEqual(result["submitted"], 30)
        self.assertEqual(result["included"], 30)

    def test_max_pending_window(self):
        """--max-pending holds submission back while that many of ours wait for a block."""
        config = LoadConfig(
            senders=2, txs=60, batch_size=5, max_pending=10, connections=1, seed=b"m"
        )
        original = self.chain.eth_sendRawTransaction
        pooled = []

        def watch_pool(raw_hex):
            pooled.append(len(self.chain.pool))
            return original(raw_hex)

        self.chain.eth_sendRawTransaction = watch_pool
        self.chain.block_size = 5
        record = drive(self.clock, self.chain, start(config, self.chain, self.clock))
        self.assertEqual(record.result()["included"], 60)
        # a batch goes out only below 10 waiting, so at most 10 - 1 + 5 are ever pooled
        self.assertLessEqual(max(pooled), 14)
        self.assertGreaterEqual(max(pooled), 9)

    def test_worker_bug_surfaces(self):
        """An unexpected exception while submitting ends the run with that exception."""
        original = self.chain.eth_sendRawTransaction

        def broken(raw_hex):
            if self.chain.receipts:  # funding is mined: the run's own submissions
                raise TypeError("a bug")
            return original(raw_hex)

        self.chain.eth_sendRawTransaction = broken
        config = LoadConfig(senders=1, txs=3, seed=b"b")
        with self.assertRaises(TypeError):
            drive(self.clock, self.chain, start(config, self.chain, self.clock))

    def test_bad_settings(self):
        """Bad numbers are refused before anything is sent."""
        for config in (
            LoadConfig(senders=0),
            LoadConfig(txs=0),
            LoadConfig(batch_size=1001),
            LoadConfig(connections=0),
            LoadConfig(private_key="0x1234"),
        ):
            with self.assertRaises(LoadError):
                LoadRun(config, self.clock)


class LoadProgressTests(TestCase):
    """The progress line counts finished (included or refused) transactions of those planned."""

    def run_with(self, progress):
        clock, chain = Clock(), FakeChain(rich=RICH.address)
        config = LoadConfig(senders=2, txs=20, batch_size=4, connections=1, seed=b"p")
        run = LoadRun(
            config,
            clock,
            progress=progress,
            _client_factory=lambda url, size: JsonRpcClient(chain),
            _cpu_time=lambda: 0.0,
        )
        return drive(clock, chain, ensureDeferred(run.run()))

    def test_counts_to_the_total_on_a_terminal(self):
        from tests.cli.test_progress import TTY
        from zkos_tw.cli.progress import Progress

        stream = TTY()
        progress = Progress.for_stream(stream, unit="txs", min_interval=0.0)
        self.run_with(progress)
        self.assertEqual((progress.done, progress.total), (20, 20))
        self.assertIn("0/20 txs", stream.getvalue())
        self.assertIn("20/20 txs", stream.getvalue())

    def test_quiet_off_a_terminal(self):
        import io

        from zkos_tw.cli.progress import Progress

        stream = io.StringIO()
        self.run_with(Progress.for_stream(stream))
        self.assertEqual(stream.getvalue(), "")
