"""The struct logger, noopTracer, 4byteTracer and the tracer registry on small contracts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import CONTRACT, OTHER
from tests.tracing.programs import (
    REVERTER,
    engines_available,
    environment,
    pre_state,
    signed,
)
from zkos_tw.tracing.base import FourByteTracer, NoopTracer
from zkos_tw.tracing.calltracer import CallTracer
from zkos_tw.tracing.errors import TraceError
from zkos_tw.tracing.registry import make_tracer
from zkos_tw.tracing.run import trace_transaction
from zkos_tw.tracing.structlog import StructLogger


def run(tracer, engine="pure", to=CONTRACT, state=None, **tx):
    t, sender = signed(to, **tx)
    receipt = trace_transaction(environment(engine, state), t, sender, tracer)
    return tracer.result(), receipt


class StructLoggerTests(SynchronousTestCase):
    def test_steps(self):
        """Every instruction, depth 1 then 2 inside the CALL; gas and gasCost add up."""
        result, receipt = run(StructLogger())
        logs = result["structLogs"]
        self.assertEqual(result["gas"], receipt.gas_used)
        self.assertFalse(result["failed"])
        self.assertEqual(logs[0], {"pc": 0, "op": "PUSH1", "gas": 300_000 - 21_000,
                                   "gasCost": 3, "depth": 1, "stack": []})  # fmt: skip
        depths = [s["depth"] for s in logs]
        self.assertEqual(max(depths), 2)
        for here, after in zip(logs, logs[1:], strict=False):
            if here["depth"] == after["depth"] == 1 and here["op"] not in ("CALL", "STATICCALL"):
                self.assertEqual(here["gas"] - here["gasCost"], after["gas"])
        call = next(s for s in logs if s["op"] == "CALL")
        first_inner = logs[logs.index(call) + 1]
        self.assertEqual(first_inner["gas"], 0xFFFF)
        self.assertGreater(call["gasCost"], 0xFFFF)  # the child's gas and the access cost
        revert = next(s for s in logs if s["op"] == "REVERT")
        self.assertEqual(revert["error"], "execution reverted")
        sstore = next(s for s in logs if s["op"] == "SSTORE")
        self.assertEqual(sstore["storage"], {f"{1:064x}": f"{7:064x}"})

    def test_options(self):
        """disableStack, enableMemory, disableStorage, enableReturnData, limit."""
        result, _ = run(
            StructLogger(
                {"disableStack": True, "enableMemory": True, "disableStorage": True,
                 "enableReturnData": True}
            )
        )  # fmt: skip
        logs = result["structLogs"]
        self.assertFalse(any("stack" in s for s in logs))
        self.assertFalse(any("storage" in s for s in logs))
        self.assertIn(f"{0x2A:064x}", logs[-1]["memory"])
        self.assertTrue(any(s.get("returnData") for s in logs))
        limited, _ = run(StructLogger({"limit": 5}))
        self.assertEqual(len(limited["structLogs"]), 5)
        self.assertEqual(limited["gas"], result["gas"])

    def test_failed(self):
        """A reverting transaction: ``failed`` and the revert data as ``returnValue``."""
        result, _ = run(StructLogger(), to=REVERTER)
        self.assertTrue(result["failed"])
        self.assertTrue(result["returnValue"].startswith("0x08c379a0"))

    def test_out_of_gas_step(self):
        """The instruction that ran out of gas carries ``error: out of gas``."""
        result, _ = run(StructLogger(), to=OTHER, gas=21_000 + 1_000)
        self.assertEqual(result["structLogs"][-1]["error"], "out of gas")
        self.assertTrue(result["failed"])


class OtherTracerTests(SynchronousTestCase):
    def test_noop(self):
        self.assertEqual(run(NoopTracer())[0], {})

    def test_four_byte(self):
        """Calls with 4+ bytes of input, precompiles excluded; the top call counts."""
        precompiles = frozenset(i.to_bytes(20, "big") for i in range(1, 11))
        result, _ = run(FourByteTracer(precompiles=precompiles), data=b"\x12\x34\x56\x78\x00")
        self.assertEqual(result, {"0x12345678-1": 1})

    def test_registry(self):
        """Names as geth's; no name: the struct logger; an unknown one: geth's error."""
        self.assertIsInstance(make_tracer(None), StructLogger)
        self.assertIsInstance(make_tracer({"tracer": "callTracer"}), CallTracer)
        tracer = make_tracer({"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}})
        self.assertTrue(tracer.only_top_call)
        self.assertIsInstance(make_tracer({"tracer": "noopTracer"}), NoopTracer)
        self.assertIsInstance(make_tracer({"tracer": "4byteTracer"}), FourByteTracer)
        with self.assertRaises(TraceError) as caught:
            make_tracer({"tracer": "prestateTracerX"})
        self.assertEqual(str(caught.exception), "tracer not found")


# Random straight-line programs: pushes and a few cheap instructions, some CALLs to the logger
# and the reverter, ending in RETURN / REVERT / an invalid byte / running off the end.
_PIECES = st.sampled_from(
    [
        bytes([0x60, 0x01]), bytes([0x60, 0x20]), bytes([0x01]), bytes([0x50]),
        bytes([0x80]), bytes([0x5A]), bytes([0x52]), bytes([0xA0]), bytes([0x55]),
        bytes([0x54]), bytes([0x60, 0x00, 0x60, 0x00, 0xA0]),
        bytes.fromhex("6020600060006000600073") + OTHER + bytes.fromhex("61fffff150"),
        bytes.fromhex("60006000600060006000" "73") + REVERTER + bytes.fromhex("61fffff150"),
        bytes([0xFE]), bytes([0xF3]), bytes([0xFD]),
    ]
)  # fmt: skip


class EngineAgreementTests(SynchronousTestCase):
    @settings(max_examples=40, deadline=None)
    @given(code=st.lists(_PIECES, max_size=24).map(b"".join))
    def test_identical_traces(self, code):
        """Pure and compiled loops: the same call trace (with logs), struct logs and receipt
        for random programs."""
        engines = engines_available()
        if len(engines) < 2:
            self.skipTest("the compiled loop is not built")
        outcomes = []
        for engine in engines:
            one = []
            for tracer in (CallTracer({"withLog": True}), StructLogger({"enableMemory": True})):
                state = pre_state()
                state.set_account(CONTRACT, code=code)
                one.append(run(tracer, engine, state=state))
            outcomes.append(one)
        self.assertEqual(outcomes[0], outcomes[1])


class PrestateTracerTests(SynchronousTestCase):
    def test_default_mode(self):
        """Sender, recipient, coinbase, call targets and used slots, as before the tx."""
        from tests.execution.evm_helpers import COINBASE
        from tests.tracing.programs import SENDER, SHA256
        from zkos_tw.tracing.prestate import PrestateTracer

        state = pre_state()
        state.set_storage(OTHER, 1, 5)
        result, _ = run(PrestateTracer(), state=state)
        self.assertEqual(
            set(result),
            {"0x" + a.hex() for a in (SENDER, CONTRACT, COINBASE, OTHER, REVERTER, SHA256)},
        )
        self.assertEqual(result["0x" + SENDER.hex()], {"balance": hex(10**20)})
        self.assertEqual(result["0x" + OTHER.hex()]["storage"], {f"0x{1:064x}": f"0x{5:064x}"})
        self.assertTrue(result["0x" + OTHER.hex()]["code"].startswith("0x60aa"))
        self.assertEqual(result["0x" + COINBASE.hex()], {"balance": "0x0"})

    def test_diff_mode(self):
        """diffMode: only what changed; the logger's slot 1 goes 5 -> 7, the sender's nonce
        and balance change; untouched accounts (the reverter) are left out."""
        from tests.tracing.programs import SENDER
        from zkos_tw.tracing.prestate import PrestateTracer

        state = pre_state()
        state.set_storage(OTHER, 1, 5)
        result, _ = run(PrestateTracer({"diffMode": True}), state=state)
        pre, post = result["pre"], result["post"]
        slot = f"0x{1:064x}"
        self.assertEqual(pre["0x" + OTHER.hex()]["storage"], {slot: f"0x{5:064x}"})
        self.assertEqual(post["0x" + OTHER.hex()], {"storage": {slot: f"0x{7:064x}"}})
        self.assertEqual(post["0x" + SENDER.hex()]["nonce"], 1)
        self.assertIn("balance", post["0x" + SENDER.hex()])
        self.assertNotIn("0x" + REVERTER.hex(), pre)
        self.assertEqual(set(pre), set(post))
        self.assertIsInstance(make_tracer({"tracer": "prestateTracer"}), PrestateTracer)
