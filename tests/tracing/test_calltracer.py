"""callTracer on hand-assembled contracts, on both instruction loops."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.execution.evm_helpers import CONTRACT, OTHER
from tests.tracing.programs import (
    REVERTER,
    SENDER,
    SHA256,
    engines_available,
    environment,
    signed,
)
from zkos_tw.interfaces import ITracer
from zkos_tw.tracing.calltracer import CallTracer
from zkos_tw.tracing.run import trace_transaction


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def trace(engine: str, config=None, to=CONTRACT, **tx):
    env = environment(engine)
    tracer = CallTracer(config)
    t, sender = signed(to, **tx)
    receipt = trace_transaction(env, t, sender, tracer)
    return tracer.result(), receipt


class CallTracerTests(SynchronousTestCase):
    def test_interface(self):
        """The call tracer provides ITracer."""
        verifyObject(ITracer, CallTracer())

    def test_tree(self):
        """A call with a CALL, a reverted STATICCALL and a precompile call gives geth's tree."""
        result, receipt = trace("pure")
        word = hx((0x2A).to_bytes(32, "big"))
        self.assertEqual(result["type"], "CALL")
        self.assertEqual(result["from"], hx(SENDER))
        self.assertEqual(result["to"], hx(CONTRACT))
        self.assertEqual(result["gas"], hex(300_000))
        self.assertEqual(result["gasUsed"], hex(receipt.gas_used))
        self.assertEqual(result["value"], "0x0")
        self.assertEqual(result["input"], "0x")
        self.assertEqual(result["output"], word)
        self.assertNotIn("logs", result)
        first, second, third = result["calls"]
        self.assertEqual(
            first,
            {
                "type": "CALL",
                "from": hx(CONTRACT),
                "to": hx(OTHER),
                "gas": hex(0xFFFF),
                "gasUsed": first["gasUsed"],
                "input": "0x",
                "output": word,
                "value": "0x0",
            },
        )
        self.assertGreater(int(first["gasUsed"], 16), 20_000)  # the SSTORE
        self.assertEqual(second["type"], "STATICCALL")
        self.assertNotIn("value", second)
        self.assertEqual(second["error"], "execution reverted")
        self.assertEqual(second["revertReason"], "nope")
        self.assertTrue(second["output"].startswith("0x08c379a0"))
        self.assertEqual(third["to"], hx(SHA256))
        self.assertEqual(third["input"], "0x00000000")
        self.assertEqual(len(third["output"]), 66)

    def test_with_log(self):
        """withLog: each frame's logs with their position; the reverted frame has none."""
        result, _ = trace("pure", {"withLog": True})
        self.assertEqual(
            result["logs"], [{"address": hx(CONTRACT), "topics": [], "data": "0x",
                              "index": "0x0", "position": "0x0"}]
        )  # fmt: skip
        logger_logs = result["calls"][0]["logs"]
        self.assertEqual(logger_logs[0]["topics"], [hx((0xAA).to_bytes(32, "big"))])
        self.assertEqual(logger_logs[0]["position"], "0x0")
        self.assertEqual(logger_logs[0]["index"], "0x1")
        self.assertNotIn("logs", result["calls"][1])

    def test_log_index_after_a_failed_frame(self):
        """A failed frame's logs give their indexes back (geth's journal revert)."""
        from tests.execution.evm_helpers import OTHER, push
        from tests.tracing.programs import LOGGER, call, op, pre_state

        # LOG0; CALL a frame that logs then runs out of gas; LOG0 again: indexes 0 and 1.
        state = pre_state()
        state.set_account(OTHER, code=LOGGER[:7] + bytes([0xFE]))
        code = push(0) + push(0) + op(0xA0) + call(OTHER) + op(0x50) + push(0) + push(0)
        state.set_account(CONTRACT, code=code + op(0xA0))
        tracer = CallTracer({"withLog": True})
        t, sender = signed(CONTRACT)
        trace_transaction(environment("pure", state), t, sender, tracer, first_log_index=5)
        result = tracer.result()
        self.assertEqual([(g["index"], g["position"]) for g in result["logs"]],
                         [("0x5", "0x0"), ("0x6", "0x1")])  # fmt: skip
        self.assertNotIn("logs", result["calls"][0])
        self.assertEqual(result["calls"][0]["error"], "invalid opcode: INVALID")

    def test_only_top_call(self):
        """onlyTopCall: no ``calls``."""
        result, _ = trace("pure", {"onlyTopCall": True})
        self.assertNotIn("calls", result)
        self.assertEqual(result["to"], hx(CONTRACT))

    def test_revert_at_top(self):
        """A reverting transaction: error, output and revertReason on the top frame."""
        result, receipt = trace("pure", to=REVERTER)
        self.assertFalse(receipt.succeeded)
        self.assertEqual(result["error"], "execution reverted")
        self.assertEqual(result["revertReason"], "nope")

    def test_out_of_gas(self):
        """A frame out of gas: geth's ``out of gas``, all its gas used, no output."""
        result, _ = trace("pure", gas=21_000 + 5_000)
        self.assertEqual(result["error"], "out of gas")
        self.assertNotIn("output", result)

    def test_create(self):
        """A create transaction: type CREATE, ``to`` the new address, output the code."""
        runtime = bytes([0x60, 0x2A, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xF3])
        # initcode: CODECOPY the runtime after it to memory 0 and return it
        initcode = bytes([0x60, len(runtime), 0x60, 0x0C, 0x60, 0x00, 0x39,
                          0x60, len(runtime), 0x60, 0x00, 0xF3]) + runtime  # fmt: skip
        result, receipt = trace("pure", to=None, data=initcode)
        self.assertEqual(result["type"], "CREATE")
        self.assertEqual(result["input"], hx(initcode))
        self.assertEqual(result["output"], hx(runtime))
        self.assertEqual(result["to"], hx(receipt.contract_address))

    def test_engines_identical(self):
        """Pure and compiled loops give the same call trace for every config."""
        for config in (None, {"withLog": True}, {"onlyTopCall": True}):
            results = [trace(engine, config) for engine in engines_available()]
            for other in results[1:]:
                self.assertEqual(results[0][0], other[0])
                self.assertEqual(results[0][1], other[1])

    def test_traced_equals_untraced(self):
        """Tracing changes nothing: same receipt and state as an untraced run."""
        from zkos_tw.execution.processing import apply_transaction

        for engine in engines_available():
            env = environment(engine)
            t, sender = signed(CONTRACT)
            plain = apply_transaction(env, t, sender)
            traced = trace(engine)[1]
            self.assertEqual(plain, traced)
