"""The Parity-style tracer (``trace_*``) on hand-assembled contracts, on both instruction loops."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.execution.evm_helpers import CONTRACT, OTHER, push
from tests.tracing.programs import (
    LOGGER,
    REVERTER,
    SENDER,
    SHA256,
    call,
    engines_available,
    environment,
    init_code,
    op,
    pre_state,
    signed,
)
from zkos_tw.execution.forks import CANCUN
from zkos_tw.execution.interpreter import create_address
from zkos_tw.execution.transactions import intrinsic_gas
from zkos_tw.interfaces import ITracer
from zkos_tw.tracing.parity import ParityTracer, localize, parity_error
from zkos_tw.tracing.run import trace_transaction

SELFDESTRUCT, STOP, DELEGATECALL = 0xFF, 0x00, 0xF4


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def trace(engine: str, to=CONTRACT, state=None, exclude=frozenset(), **tx):
    env = environment(engine, state)
    tracer = ParityTracer(exclude=exclude)
    t, sender = signed(to, **tx)
    receipt = trace_transaction(env, t, sender, tracer)
    return tracer, receipt, intrinsic_gas(t, CANCUN)


class ParityTracerTests(SynchronousTestCase):
    def test_interface(self):
        """The parity tracer provides ITracer."""
        verifyObject(ITracer, ParityTracer())

    def test_flat_traces(self):
        """A CALL, a reverted STATICCALL and a precompile call: four entries, depth first, with
        revm's values (top gas: limit minus intrinsic; gasUsed before refunds)."""
        tracer, receipt, intrinsic = trace("pure")
        word = hx((0x2A).to_bytes(32, "big"))
        top, logger, reverter, sha = tracer.traces()
        self.assertEqual(
            top,
            {
                "action": {
                    "from": hx(SENDER),
                    "callType": "call",
                    "gas": hex(300_000 - intrinsic),
                    "input": "0x",
                    "to": hx(CONTRACT),
                    "value": "0x0",
                },
                "result": {"gasUsed": hex(receipt.gas_used - intrinsic), "output": word},
                "subtraces": 3,
                "traceAddress": [],
                "type": "call",
            },
        )
        self.assertEqual(logger["action"]["to"], hx(OTHER))
        self.assertEqual(logger["action"]["gas"], hex(0xFFFF))
        self.assertEqual(logger["traceAddress"], [0])
        self.assertEqual(logger["result"]["output"], word)
        self.assertGreater(int(logger["result"]["gasUsed"], 16), 20_000)  # the SSTORE
        self.assertEqual(reverter["action"]["callType"], "staticcall")
        self.assertEqual(reverter["action"]["value"], "0x0")
        self.assertEqual(reverter["error"], "Reverted")
        self.assertTrue(reverter["result"]["output"].startswith("0x08c379a0"))
        self.assertEqual(reverter["traceAddress"], [1])
        self.assertEqual(sha["action"]["to"], hx(SHA256))
        self.assertEqual(sha["action"]["input"], "0x00000000")
        self.assertEqual((sha["traceAddress"], sha["subtraces"]), ([2], 0))
        self.assertEqual(tracer.output(), bytes.fromhex(word[2:]))

    def test_exclude_precompiles(self):
        """Excluded addresses (the replay's precompiles) drop out, and out of ``subtraces``."""
        tracer, _, _ = trace("pure", exclude=frozenset({SHA256}))
        traces = tracer.traces()
        self.assertEqual(len(traces), 3)
        self.assertEqual(traces[0]["subtraces"], 2)
        self.assertNotIn(hx(SHA256), [t["action"]["to"] for t in traces])

    def test_create(self):
        """A create transaction: the ``create`` action and result, gasUsed with the deposit."""
        tracer, receipt, intrinsic = trace("pure", to=None, data=init_code(LOGGER))
        (entry,) = tracer.traces()
        self.assertEqual(entry["type"], "create")
        self.assertEqual(
            entry["action"],
            {
                "from": hx(SENDER),
                "gas": hex(300_000 - intrinsic),
                "init": hx(init_code(LOGGER)),
                "value": "0x0",
                "creationMethod": "create",
            },
        )
        self.assertEqual(
            entry["result"],
            {
                "address": hx(create_address(SENDER, 0)),
                "code": hx(LOGGER),
                "gasUsed": hex(receipt.gas_used - intrinsic),
            },
        )
        self.assertGreater(int(entry["result"]["gasUsed"], 16), 200 * len(LOGGER))

    def test_failed_call_has_no_result(self):
        """A child out of gas: ``error`` "Out of gas" and ``result`` null (only REVERT keeps a
        result)."""
        state = pre_state()
        state.set_account(CONTRACT, code=call(OTHER, gas=100) + op(STOP))
        tracer, _, _ = trace("pure", state=state)
        top, child = tracer.traces()
        self.assertEqual(child["error"], "Out of gas")
        self.assertIsNone(child["result"])
        self.assertNotIn("error", top)

    def test_delegatecall_from(self):
        """A DELEGATECALL's ``from`` is the contract that delegates (geth's and revm's), on the
        callTracer too; its ``to`` the code's address."""
        from zkos_tw.tracing.calltracer import CallTracer

        state = pre_state()
        state.set_account(CONTRACT, code=call(OTHER, kind=DELEGATECALL, out_size=0) + op(STOP))
        tracer, _, _ = trace("pure", state=state)
        _, child = tracer.traces()
        self.assertEqual(child["action"]["callType"], "delegatecall")
        self.assertEqual(child["action"]["from"], hx(CONTRACT))
        self.assertEqual(child["action"]["to"], hx(OTHER))
        state = pre_state()
        state.set_account(CONTRACT, code=call(OTHER, kind=DELEGATECALL, out_size=0) + op(STOP))
        env = environment("pure", state)
        call_tracer = CallTracer()
        t, sender = signed(CONTRACT)
        trace_transaction(env, t, sender, call_tracer)
        (frame,) = call_tracer.result()["calls"]
        self.assertEqual((frame["type"], frame["from"]), ("DELEGATECALL", hx(CONTRACT)))

    def test_selfdestruct(self):
        """SELFDESTRUCT is a ``suicide`` entry, the last child of its frame."""
        for engine in engines_available():
            state = pre_state()
            state.set_account(
                CONTRACT, code=push(int.from_bytes(REVERTER, "big"), 20) + op(SELFDESTRUCT),
                balance=5,
            )  # fmt: skip
            tracer, _, _ = trace(engine, state=state)
            top, gone = tracer.traces()
            self.assertEqual(top["subtraces"], 1, engine)
            self.assertEqual(
                gone,
                {
                    "action": {
                        "address": hx(CONTRACT),
                        "refundAddress": hx(REVERTER),
                        "balance": "0x5",
                    },
                    "result": None,
                    "subtraces": 0,
                    "traceAddress": [0],
                    "type": "suicide",
                },
            )

    def test_engines_agree(self):
        """The pure and the compiled loop give the same flat traces."""
        results = [trace(engine)[0].traces() for engine in engines_available()]
        for other in results[1:]:
            self.assertEqual(other, results[0])

    def test_localize(self):
        """The block and transaction fields, in reth's order."""
        tracer, _, _ = trace("pure")
        entry = localize(tracer.traces()[2], b"\x01" * 32, 7, b"\x02" * 32, 3)
        self.assertEqual(
            list(entry),
            ["action", "blockHash", "blockNumber", "error", "result", "subtraces",
             "traceAddress", "transactionHash", "transactionPosition", "type"],
        )  # fmt: skip
        self.assertEqual(entry["blockHash"], hx(b"\x01" * 32))
        self.assertEqual((entry["blockNumber"], entry["transactionPosition"]), (7, 3))
        self.assertEqual(entry["transactionHash"], hx(b"\x02" * 32))

    def test_error_texts(self):
        """Geth's error texts map to revm-inspectors' parity texts."""
        self.assertEqual(parity_error("execution reverted"), "Reverted")
        self.assertEqual(parity_error("invalid opcode: INVALID"), "Bad instruction")
        self.assertEqual(parity_error("invalid opcode: opcode 0xc not defined"), "Bad instruction")
        self.assertEqual(parity_error("invalid jump destination"), "Bad jump destination")
        self.assertEqual(parity_error("stack limit reached 1024 (1023)"), "Out of stack")
        self.assertEqual(parity_error("write protection"), "StateChangeDuringStaticCall")
        self.assertEqual(parity_error("max call depth exceeded"), "CallTooDeep")
        self.assertEqual(parity_error("insufficient balance for transfer"), "OutOfFunds")
