"""The ``trace_*`` methods (Parity style) on a real chain (LMDB, sequencer, fake clock): stored
blocks re-executed from the parent's state, the filter, the replay with its stateDiff."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer import test_backend_simulation as simulation
from zkos_tw.execution.interpreter import create_address
from zkos_tw.rpc.codec import BlockId
from zkos_tw.rpc.errors import JsonRpcError
from zkos_tw.rpc.server import build_rpc
from zkos_tw.rpc.trace import TraceNamespace, parse_trace_filter

RICH = simulation.RICH


def hx(b: bytes) -> str:
    return "0x" + b.hex()


class TraceNamespaceTests(SynchronousTestCase):
    """On the chain set-up of the backend simulation tests (two contracts deployed in
    block 1)."""

    send = simulation.BackendSimulationTests.send
    mine = simulation.BackendSimulationTests.mine
    receipt = simulation.BackendSimulationTests.receipt

    def setUp(self):
        simulation.BackendSimulationTests.setUp(self)
        self.trace = TraceNamespace(self.backend, self.backend.traces, max_filter_blocks=10)

    def rpc(self, method, *args):
        return self.successResultOf(defer.ensureDeferred(getattr(self.trace, method)(*args)))

    def rpc_error(self, method, *args) -> JsonRpcError:
        failure = self.failureResultOf(
            defer.ensureDeferred(getattr(self.trace, method)(*args)), JsonRpcError
        )
        return failure.value

    def test_registered(self):
        """The RPC server answers the four methods (the trace service is the backend's)."""
        from prometheus_client import CollectorRegistry

        from zkos_tw.config import load_config

        config = load_config({}).rpc
        _, _, dispatcher = build_rpc(config, self.backend, self.reactor, CollectorRegistry())
        for name in ("trace_transaction", "trace_block", "trace_filter",
                     "trace_replayTransaction"):  # fmt: skip
            self.assertIsNotNone(dispatcher.table.get(name), name)

    def test_trace_transaction(self):
        """A stored call: its flat trace with the block and transaction fields."""
        self.send(self.poke)
        self.send(self.poke)
        block = self.mine()
        stored = self.chain.storage.block(block.number)
        tx_hash = block.transactions[1].tx_hash
        receipt = self.receipt(block, 1)
        (entry,) = self.rpc("trace_transaction", tx_hash)
        self.assertEqual(entry["type"], "call")
        self.assertEqual(entry["action"]["from"], hx(RICH))
        self.assertEqual(entry["action"]["to"], hx(self.poke))
        self.assertEqual(entry["action"]["gas"], hex(100_000 - 21_000))
        self.assertEqual(entry["result"]["gasUsed"], hex(receipt.gas_used - 21_000))
        self.assertEqual(entry["blockHash"], hx(stored.block_hash))
        self.assertEqual(entry["blockNumber"], block.number)
        self.assertEqual(entry["transactionHash"], hx(tx_hash))
        self.assertEqual(entry["transactionPosition"], 1)
        self.assertIsNone(self.rpc("trace_transaction", b"\x01" * 32))

    def test_trace_block(self):
        """Every transaction of a block in order; genesis has none; a future block is null."""
        traces = self.rpc("trace_block", BlockId(number=1))
        self.assertEqual([t["type"] for t in traces], ["create", "create"])
        self.assertEqual([t["result"]["address"] for t in traces],
                         [hx(self.poke), hx(self.clock)])  # fmt: skip
        self.assertEqual([t["transactionPosition"] for t in traces], [0, 1])
        self.assertEqual(self.rpc("trace_block", BlockId.latest()), traces)
        self.assertEqual(self.rpc("trace_block", BlockId(number=0)), [])
        self.assertIsNone(self.rpc("trace_block", BlockId(number=99)))

    def test_trace_filter(self):
        """Ranges, addresses (a create matches by the created address), after and count."""
        self.send(self.poke)
        self.send(self.clock)
        self.mine()  # block 2
        self.send(self.clock)
        self.mine()  # block 3
        everything = self.rpc("trace_filter", {"fromBlock": "0x1", "toBlock": "0x3"})
        self.assertEqual([t["blockNumber"] for t in everything], [1, 1, 2, 2, 3])
        self.assertEqual(self.rpc("trace_filter", {}), everything)  # 0 .. latest
        to_clock = self.rpc("trace_filter", {"toAddress": [hx(self.clock)]})
        self.assertEqual([(t["blockNumber"], t["type"]) for t in to_clock],
                         [(1, "create"), (2, "call"), (3, "call")])  # fmt: skip
        page = self.rpc("trace_filter", {"toAddress": [hx(self.clock)], "after": 1, "count": 1})
        self.assertEqual(page, to_clock[1:2])
        self.assertEqual(self.rpc("trace_filter", {"after": 10}), [])
        from_rich = self.rpc("trace_filter", {"fromAddress": [hx(RICH)], "toBlock": "0x2"})
        self.assertEqual(len(from_rich), 4)
        both = self.rpc("trace_filter", {"fromAddress": [hx(RICH)],
                                         "toAddress": [hx(self.poke)], "mode": "intersection"})  # fmt: skip
        self.assertEqual([t["blockNumber"] for t in both], [1, 2])
        # toBlock past the newest block reads as the newest (as anvil)
        self.assertEqual(self.rpc("trace_filter", {"fromBlock": "0x3", "toBlock": "0x9"}),
                         everything[-1:])  # fmt: skip

    def test_trace_filter_errors(self):
        """The range cap and a reversed range answer -32602 with reth's texts."""
        error = self.rpc_error("trace_filter", {"fromBlock": "0x0", "toBlock": "0xb"})
        self.assertEqual(
            (error.code, error.message),
            (-32602, "Block range too large; currently limited to 10 blocks"),
        )
        error = self.rpc_error("trace_filter", {"fromBlock": "0x2", "toBlock": "0x1"})
        self.assertEqual(
            (error.code, error.message),
            (-32602, "invalid parameters: fromBlock cannot be greater than toBlock"),
        )
        error = self.rpc_error("trace_filter", {"fromAddress": hx(RICH)})
        self.assertEqual(error.code, -32602)
        self.assertIn("fromAddress", error.data)
        error = self.rpc_error("trace_filter", {"blockHashes": []})
        self.assertIn("unknown field `blockHashes`", error.data)

    def test_replay_state_diff(self):
        """stateDiff of a call that writes a slot: the slot, the sender's nonce and balance."""
        self.reactor.advance(5)  # POKE writes the timestamp once time moved
        self.send(self.poke)
        block = self.mine()
        tx_hash = block.transactions[0].tx_hash
        result = self.rpc("trace_replay_transaction", tx_hash, ["trace", "stateDiff"])
        self.assertEqual(result["output"], "0x")
        self.assertIsNone(result["vmTrace"])
        self.assertEqual(
            [t for t in result["trace"]],
            [{k: v for k, v in t.items() if k in ("action", "result", "subtraces",
                                                  "traceAddress", "type")}
             for t in self.rpc("trace_transaction", tx_hash)],
        )  # fmt: skip
        diff = result["stateDiff"]
        poke = diff[hx(self.poke)]
        self.assertEqual((poke["balance"], poke["code"], poke["nonce"]), ("=", "=", "="))
        ((slot, change),) = poke["storage"].items()
        self.assertEqual(slot, "0x" + "00" * 32)
        self.assertEqual(int(change["*"]["to"], 16), block.header.timestamp)
        self.assertEqual(len(change["*"]["from"]), 66)
        sender = diff[hx(RICH)]
        self.assertEqual(sender["nonce"], {"*": {"from": hex(self.nonce - 1),
                                                 "to": hex(self.nonce)}})  # fmt: skip
        self.assertIn("*", sender["balance"])
        self.assertEqual(sender["storage"], {})

    def test_replay_create_is_added(self):
        """A created contract: ``+`` in every field; trace only: stateDiff null."""
        self.send(None, simulation.init_code(simulation.POKE), gas=200_000)
        block = self.mine()
        tx_hash = block.transactions[0].tx_hash
        created = create_address(RICH, self.nonce - 1)
        result = self.rpc("trace_replay_transaction", tx_hash, ["stateDiff"])
        self.assertEqual(result["trace"], [])
        self.assertEqual(result["output"], hx(simulation.POKE))
        self.assertEqual(
            result["stateDiff"][hx(created)],
            {"balance": {"+": "0x0"}, "code": {"+": hx(simulation.POKE)},
             "nonce": {"+": "0x1"}, "storage": {}},
        )  # fmt: skip
        only_trace = self.rpc("trace_replay_transaction", tx_hash, ["trace"])
        self.assertIsNone(only_trace["stateDiff"])
        self.assertEqual(only_trace["trace"][0]["result"]["address"], hx(created))

    def test_replay_errors(self):
        """vmTrace is refused clearly; unknown types and transactions fail."""
        latest = self.chain.storage.block(1)
        tx_hash = latest.tx_hashes[0]
        error = self.rpc_error("trace_replay_transaction", tx_hash, ["vmTrace"])
        self.assertEqual(error.code, -32000)
        self.assertIn("vmTrace is not supported", error.message)
        error = self.rpc_error("trace_replay_transaction", tx_hash, ["everything"])
        self.assertEqual(error.code, -32602)
        error = self.rpc_error("trace_replay_transaction", b"\x01" * 32, ["trace"])
        self.assertEqual((error.code, error.message), (-32000, "transaction not found"))

    def test_concurrency_limit(self):
        """The trace_ methods share the debug_ methods' slots."""
        slots = self.backend.traces.slots
        slots.running = slots.limit
        error = self.rpc_error("trace_transaction", b"\x01" * 32)
        self.assertIn("too many concurrent traces", error.message)
        slots.running = 0

    def test_parse_trace_filter(self):
        """Addresses are normalised to lower-case hex; mode and numbers parsed."""
        query = parse_trace_filter(
            {"fromBlock": "0x2", "fromAddress": ["0x36615Cf349d7F6344891B1e7CA7C72883F5dc049"],
             "mode": "intersection", "count": "0x5"}
        )  # fmt: skip
        self.assertEqual(query.from_block, 2)
        self.assertEqual(query.from_addresses, frozenset({hx(RICH)}))
        self.assertTrue(query.intersection)
        self.assertEqual((query.after, query.count), (0, 5))


class L1ParityTraceTests(SynchronousTestCase):
    def test_upgrade_priority_and_l2_in_one_block(self):
        """The upgrade (0x7e), a deposit (0x7f) and an L2 transfer all trace, and the deposit's
        stateDiff shows the minted value."""
        from tests.sequencer.test_l1_blocks import ALICE
        from tests.tracing.test_debug_rpc import l1_block_traces

        _, block, traces = l1_block_traces(self)
        entries = self.successResultOf(traces.parity_block(1))
        self.assertEqual([e["transactionHash"] for e in entries if e["traceAddress"] == []],
                         [hx(t.tx_hash) for t in block.transactions])  # fmt: skip
        upgrade_trace, deposit_trace = entries[0], entries[1]
        self.assertEqual(upgrade_trace["action"]["to"], hx(ALICE))
        self.assertEqual(deposit_trace["action"]["to"], hx(ALICE))
        self.assertEqual(int(deposit_trace["action"]["value"], 16), 10**18)
        replay = self.successResultOf(
            traces.replay_transaction(block.transactions[1].tx_hash, True, True)
        )
        alice = replay["stateDiff"][hx(ALICE)]["balance"]["*"]
        self.assertEqual(int(alice["to"], 16) - int(alice["from"], 16), 10**18)
