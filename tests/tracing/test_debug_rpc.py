"""The ``debug_trace*`` methods on a real chain (LMDB, sequencer, fake clock): stored blocks
re-executed from the parent's state, L1 / upgrade transactions, calls with overrides, limits."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.execution.test_l1_transactions import l1_tx
from tests.sequencer import test_backend_simulation as simulation
from tests.sequencer.test_l1_blocks import ALICE, deposit, upgrade
from tests.sequencer.test_replay import Node
from tests.sequencer.test_service import signed
from zkos_tw.rpc.codec import BlockId, CallRequest
from zkos_tw.rpc.debug import DebugNamespace
from zkos_tw.rpc.errors import JsonRpcError
from zkos_tw.sequencer.l1_queue import L1TransactionQueue
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.tracing.service import TraceService

RICH = simulation.RICH
del l1_tx


class DebugTraceTests(SynchronousTestCase):
    """On the chain set-up of the backend simulation tests (two contracts deployed)."""

    send = simulation.BackendSimulationTests.send
    mine = simulation.BackendSimulationTests.mine

    def setUp(self):
        simulation.BackendSimulationTests.setUp(self)
        self.debug = DebugNamespace(self.backend, self.backend.traces)

    def rpc(self, method, *args):
        return self.successResultOf(defer.ensureDeferred(getattr(self.debug, method)(*args)))

    def rpc_error(self, method, *args) -> JsonRpcError:
        failure = self.failureResultOf(
            defer.ensureDeferred(getattr(self.debug, method)(*args)), JsonRpcError
        )
        return failure.value

    def test_trace_transaction_call_tracer(self):
        """A stored call, re-executed after the earlier transactions of its block."""
        self.send(self.poke)
        self.send(self.poke)  # the second one sees the first one's write
        block = self.mine()
        for index in (0, 1):
            tx_hash = block.transactions[index].tx_hash
            receipt = StoredReceipt.decode(self.chain.storage.receipt(tx_hash))
            trace = self.rpc("trace_transaction", tx_hash, {"tracer": "callTracer"})
            self.assertEqual(trace["type"], "CALL")
            self.assertEqual(trace["from"], "0x" + RICH.hex())
            self.assertEqual(trace["to"], "0x" + self.poke.hex())
            self.assertEqual(int(trace["gasUsed"], 16), receipt.gas_used)
            self.assertEqual(int(trace["gas"], 16), 100_000)
        self.assertNotEqual(
            self.rpc("trace_transaction", block.transactions[0].tx_hash, None)["gas"],
            self.rpc("trace_transaction", block.transactions[1].tx_hash, None)["gas"],
        )

    def test_struct_logger_default(self):
        """No tracer: the struct logger; ``gas`` is the receipt's, SSTORE shows storage."""
        self.send(self.poke)
        block = self.mine()
        tx_hash = block.transactions[0].tx_hash
        receipt = StoredReceipt.decode(self.chain.storage.receipt(tx_hash))
        result = self.rpc("trace_transaction", tx_hash, None)
        self.assertEqual(result["gas"], receipt.gas_used)
        self.assertFalse(result["failed"])
        ops = [s["op"] for s in result["structLogs"]]
        self.assertEqual(ops[0], "TIMESTAMP")
        self.assertIn("SSTORE", ops)
        sstore = result["structLogs"][ops.index("SSTORE")]
        self.assertIn("storage", sstore)
        limited = self.rpc("trace_transaction", tx_hash, {"limit": 3, "disableStack": True})
        self.assertEqual(len(limited["structLogs"]), 3)
        self.assertNotIn("stack", limited["structLogs"][0])

    def test_trace_block_by_number_and_hash(self):
        """Every transaction of a block, with its hash, by number or by hash."""
        latest = self.backend.latest_block_number()
        by_number = self.rpc(
            "trace_block_by_number", BlockId(number=latest), {"tracer": "callTracer"}
        )
        stored = self.chain.storage.block(latest)
        self.assertEqual([r["txHash"] for r in by_number],
                         ["0x" + h.hex() for h in stored.tx_hashes])  # fmt: skip
        self.assertEqual(by_number[-1]["result"]["type"], "CREATE")
        by_hash = self.rpc("trace_block_by_hash", stored.block_hash, {"tracer": "callTracer"})
        self.assertEqual(by_hash, by_number)

    def test_trace_call_with_overrides(self):
        """debug_traceCall on ``latest`` with a code override (the call runs that code)."""
        returning = bytes.fromhex("602a60005260206000f3")  # return 42
        request = CallRequest(from_=RICH, to=self.clock)
        override = {"0x" + self.clock.hex(): {"code": "0x" + returning.hex()}}
        result = self.rpc(
            "trace_call",
            request,
            BlockId.latest(),
            {"tracer": "callTracer", "stateOverrides": override},
        )
        self.assertEqual(int(result["output"], 16), 42)
        plain = self.rpc("trace_call", request, BlockId.latest(), {"tracer": "callTracer"})
        self.assertEqual(len(plain["output"]), 2 + 128)

    def test_unknown_tracer(self):
        """An unknown tracer name: geth's text, nothing runs."""
        latest = self.backend.latest_block_number()
        error = self.rpc_error("trace_block_by_number", BlockId(number=latest), {"tracer": "x"})
        self.assertEqual((error.code, error.message), (-32000, "tracer not found"))

    def test_unknown_transaction(self):
        error = self.rpc_error("trace_transaction", b"\x01" * 32, None)
        self.assertEqual((error.code, error.message), (-32000, "transaction not found"))

    def test_timeout(self):
        """A trace past its ``timeout``: geth's ``execution timeout``."""
        self.send(self.poke)
        block = self.mine()
        error = self.rpc_error("trace_transaction", block.transactions[0].tx_hash,
                               {"timeout": "0s"})  # fmt: skip
        self.assertEqual(error.message, "execution timeout")
        bad = self.rpc_error("trace_transaction", block.transactions[0].tx_hash,
                             {"timeout": "soon"})  # fmt: skip
        self.assertEqual(bad.message, 'time: invalid duration "soon"')

    def test_timeout_of_a_long_loop(self):
        """A 30-million-gas loop under the struct logger stops at its 200 ms ``timeout``."""
        import time

        from zkos_tw.execution.interpreter import create_address

        loop = bytes.fromhex("5b600056")  # JUMPDEST; PUSH1 0; JUMP
        self.send(None, simulation.init_code(loop), gas=200_000)
        self.mine()
        target = create_address(RICH, self.nonce - 1)
        self.send(target, gas=30_000_000)
        block = self.mine()
        started = time.monotonic()
        error = self.rpc_error("trace_transaction", block.transactions[0].tx_hash,
                               {"timeout": "200ms"})  # fmt: skip
        self.assertEqual(error.message, "execution timeout")
        self.assertLess(time.monotonic() - started, 5)

    def test_concurrency_limit(self):
        """With every slot taken, one more trace is refused at once."""
        slots = self.backend.traces.slots
        slots.running = slots.limit
        error = self.rpc_error("trace_transaction", b"\x01" * 32, None)
        self.assertIn("too many concurrent traces", error.message)
        slots.running = 0


def l1_block_traces(case) -> tuple:
    """(node, block, TraceService) of a chain whose block 1 holds the upgrade (0x7e), a deposit
    (0x7f) and an L2 transfer; traces run inline."""
    reactor = MemoryReactorClock()
    reactor.advance(1_700_000_000)
    reactor.running = True
    queue = L1TransactionQueue()
    node = Node(case, reactor, l1_queue=queue)
    node.mempool.add(signed(0))
    queue.push(deposit(0))
    queue.set_upgrade(upgrade())
    reactor.advance(0.1)
    [block] = node.sealed
    return node, block, TraceService(node.chain.storage, _in_thread=simulation.inline)


class L1TraceTests(SynchronousTestCase):
    def test_upgrade_priority_and_l2_in_one_block(self):
        """Block 1 holds the upgrade (0x7e), a deposit (0x7f) and an L2 transfer: all trace,
        each after the ones before it."""
        node, block, traces = l1_block_traces(self)
        results = self.successResultOf(traces.trace_block(1, {"tracer": "callTracer"}))
        self.assertEqual([r["txHash"] for r in results],
                         ["0x" + t.tx_hash.hex() for t in block.transactions])  # fmt: skip
        upgrade_trace, deposit_trace, transfer = (r["result"] for r in results)
        self.assertEqual(deposit_trace["to"], "0x" + ALICE.hex())
        self.assertEqual(int(deposit_trace["value"], 16), 10**18)
        self.assertEqual(deposit_trace["gas"], hex(200_000))
        self.assertEqual(upgrade_trace["to"], "0x" + ALICE.hex())
        self.assertEqual(transfer["type"], "CALL")
        for index, t in enumerate(block.transactions):
            receipt = StoredReceipt.decode(node.chain.storage.receipt(t.tx_hash))
            self.assertEqual(int(results[index]["result"]["gasUsed"], 16), receipt.gas_used)
        single = self.successResultOf(
            traces.trace_transaction(block.transactions[1].tx_hash, {"tracer": "callTracer"})
        )
        self.assertEqual(single, deposit_trace)
