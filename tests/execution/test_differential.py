"""Differential tests: the compiled loop (``ext/_evm.pyx``) against the pure reference.

Random programs (valid and invalid bytecode, see ``tests.strategies.evm_programs``), random call
data, storage and value run through both loops in the same process, each on a fresh copy of the
same pre-state: the success flag and error (type and arguments), return data, gas left, logs,
refunds, deletions, touched and warm sets, the stack on success and every account and storage
slot afterwards must be identical. Skipped when the compiled loop is not built (failed when
``ZKOS_REQUIRE_EXTENSIONS=1``).
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.execution.evm_helpers import CALLER, CONTRACT, OTHER, push, returning_top, run_code
from tests.strategies import evm_calldata, evm_programs, evm_storage, evm_words
from zkos_tw import extensions
from zkos_tw.execution import engines
from zkos_tw.execution.forks import FORKS
from zkos_tw.testing import MemoryState

# Opcodes taking up to three words and leaving one: arithmetic, comparison, bitwise, shifts.
WORD_OPS = list(range(0x01, 0x0C)) + list(range(0x10, 0x1E))


def _require_compiled():
    if engines.CEXT is None:
        if extensions.REQUIRE_EXTENSIONS:
            raise AssertionError("ZKOS_REQUIRE_EXTENSIONS is set but zkos_tw._ext._evm is missing")
        raise SkipTest("zkos_tw._ext._evm is not built (pure-only install)")


def _pre_state(storage, other_code, other_storage, balance):
    state = MemoryState()
    state.set_account(CALLER, balance=10**18)
    state.set_account(CONTRACT, balance=balance, storage=storage)
    state.set_account(OTHER, code=other_code, storage=other_storage, balance=5, nonce=1)
    return state


def outcome(frame, state):
    """Everything a frame leaves behind that the two loops must agree on."""
    error = None if frame.error is None else (type(frame.error).__name__, frame.error.args)
    return {
        "error": error,
        "output": frame.output,
        "gas_left": frame.gas_left,
        "logs": list(frame.logs),
        "refund_counter": frame.refund_counter,
        "accounts_to_delete": sorted(frame.accounts_to_delete),
        "touched_accounts": sorted(frame.touched_accounts),
        "accessed_addresses": sorted(frame.accessed_addresses),
        "accessed_storage_keys": sorted(frame.accessed_storage_keys),
        "return_data": frame.return_data,
        "stack": list(frame.stack) if frame.error is None else None,
        "pc": frame.pc if frame.error is None else None,
        "state": sorted(
            (address, nonce, balance, code, sorted(state.storage_items(address).items()))
            for address, nonce, balance, code in state.accounts()
        ),
    }


def run_both(code, *, make_state, **kwargs):
    """``{engine: outcome}`` of ``code`` run at CONTRACT on a fresh pre-state per engine."""
    results = {}
    for name in ("pure", "cext"):
        state = make_state()
        frame = run_code(code, state=state, engine=engines.by_name(name), **kwargs)
        results[name] = outcome(frame, state)
    return results


class DifferentialTests(SynchronousTestCase):
    """Random inputs through both loops give identical results."""

    def setUp(self):
        _require_compiled()

    def assertSameOutcome(self, results):
        pure, cext = results["pure"], results["cext"]
        for key in pure:
            self.assertEqual(cext[key], pure[key], f"{key} differs (cext vs pure)")

    @settings(max_examples=300)
    @given(
        program=evm_programs(),
        other=evm_programs(max_chunks=12),
        data=evm_calldata,
        storage=evm_storage,
        other_storage=evm_storage,
        value=st.sampled_from([0, 1, 10**6]),
        balance=st.sampled_from([0, 10**9]),
        gas=st.sampled_from([0, 21, 3000, 60_000, 300_000]),
        is_static=st.booleans(),
    )
    def test_random_programs(
        self, program, other, data, storage, other_storage, value, balance, gas, is_static
    ):
        """Random bytecode, call data, storage, value and gas: identical outcomes."""
        results = run_both(
            program,
            make_state=lambda: _pre_state(storage, other, other_storage, balance),
            data=data,
            gas=gas,
            value=value if not is_static else 0,
            is_static=is_static,
        )
        self.assertSameOutcome(results)

    @settings(max_examples=150)
    @given(
        program=evm_programs(max_chunks=25),
        fork=st.sampled_from(["London", "Paris", "Shanghai"]),
    )
    def test_older_forks(self, program, fork):
        """Pre-Cancun forks: missing opcodes are invalid on both, SELFDESTRUCT deletes."""
        results = run_both(
            program,
            make_state=lambda: _pre_state({1: 2}, b"", {}, 10**9),
            gas=200_000,
            fork=FORKS[fork],
        )
        self.assertSameOutcome(results)

    @settings(max_examples=500)
    @given(
        op=st.sampled_from(WORD_OPS),
        operands=st.lists(evm_words, min_size=3, max_size=3),
    )
    def test_word_operations(self, op, operands):
        """Every arithmetic, comparison and bitwise instruction on edge-case and random words."""
        a, b, c = operands
        code = push(c) + push(b) + push(a) + bytes([op]) + returning_top()
        results = run_both(code, make_state=MemoryState, gas=100_000)
        self.assertSameOutcome(results)
        self.assertIsNone(results["cext"]["error"])

    def test_deep_stack_and_overflow(self):
        """1024 items are fine, the 1025th overflows; DUP16 and SWAP16 reach the deep items."""
        for count, expected in ((1024, None), (1025, "StackOverflow")):
            code = push(1) * (count - 1) + b"\x8f\x9f\x00"  # ... DUP16 SWAP16 STOP
            results = run_both(code, make_state=MemoryState, gas=1_000_000)
            self.assertSameOutcome(results)
            error = results["cext"]["error"]
            self.assertEqual(error and error[0], expected)

    def test_huge_gas_and_memory_offsets(self):
        """With 2**63-1 gas (as state tests give), memory costs near and past what any frame can
        pay agree: small offsets succeed with the same gas, unpayable ones run out of gas."""
        small = [0, 31, 4096]
        unpayable = [3 * 2**40, 2**42, 2**42 + 5, 2**64, 2**256 - 1]
        for offset in small + unpayable:
            for op in (0x51, 0x52, 0x20, 0x37, 0x39, 0x5E, 0xA0, 0xF3, 0xFD):
                # operands in pop order: offset first
                operands = {0x51: [offset], 0x52: [offset, 7]}.get(op, [offset, offset, offset])
                if op in (0x20, 0xA0, 0xF3, 0xFD):
                    operands = [offset, 1] if offset in unpayable else [offset, 64]
                code = b"".join(push(v) for v in reversed(operands)) + bytes([op])
                results = run_both(code, make_state=MemoryState, gas=2**63 - 1)
                self.assertSameOutcome(results)
                if offset in unpayable:
                    self.assertEqual(results["cext"]["error"], ("OutOfGas", ()), (offset, op))

    def test_keccak_block_boundaries(self):
        """KECCAK256 of memory across the 136-byte rate: both loops give keccak-256."""
        from zkos_tw.hashing import keccak256

        data = bytes(range(256)) * 4
        for size in (0, 1, 31, 32, 135, 136, 137, 271, 272, 273, 1000):
            # CALLDATACOPY(0, 0, size); KECCAK256(0, size); return the word
            code = push(size) + push(0) + push(0) + b"\x37" + push(size) + push(0) + b"\x20"
            results = run_both(code + returning_top(), make_state=MemoryState, data=data)
            self.assertSameOutcome(results)
            self.assertEqual(results["cext"]["output"], keccak256(data[:size]), size)

    def test_every_single_byte_program(self):
        """Each of the 256 opcode bytes alone, on an empty stack: same result on both."""
        for op in range(256):
            results = run_both(bytes([op]), make_state=MemoryState, gas=50_000)
            self.assertSameOutcome(results)
