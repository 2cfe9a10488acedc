"""Control flow, stack limits, environment and block instructions."""

from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import (
    CALLER,
    COINBASE,
    CONTRACT,
    OTHER,
    compute,
    push,
    result_word,
    returning_top,
    run_code,
)
from zkos_tw.execution.exceptions import (
    InvalidJumpDestination,
    InvalidOpcode,
    OutOfBoundsRead,
    StackOverflow,
    StackUnderflow,
)
from zkos_tw.execution.forks import LONDON
from zkos_tw.hashing import keccak256
from zkos_tw.testing import MemoryState

JUMP, JUMPI, PC, GAS, JUMPDEST, PUSH0 = b"\x56", b"\x57", b"\x58", b"\x5a", b"\x5b", b"\x5f"


class ControlFlowTests(SynchronousTestCase):
    """JUMP/JUMPI, PC, GAS, invalid opcodes and the 1024-item stack."""

    def test_jump_to_jumpdest(self):
        """JUMP lands on a JUMPDEST and skips what lies between."""
        code = push(4) + JUMP + b"\xfe" + JUMPDEST + push(9) + returning_top()
        self.assertEqual(result_word(run_code(code)), 9)

    def test_jump_into_push_data(self):
        """A 0x5b inside PUSH data is not a jump destination."""
        code = push(3) + JUMP + push(0x5B)
        self.assertIsInstance(run_code(code).error, InvalidJumpDestination)

    def test_jumpi_not_taken(self):
        """JUMPI with a zero condition falls through even to a bad destination."""
        self.assertEqual(compute(push(0) + push(99) + JUMPI + push(1)), 1)

    def test_pc_and_gas(self):
        """PC pushes its own position; GAS pushes the gas left after paying 2."""
        self.assertEqual(compute(push(0), b"\x50", PC), 3)
        self.assertEqual(result_word(run_code(GAS + returning_top(), gas=1000)), 998)

    def test_underflow_and_overflow(self):
        """Popping an empty stack and pushing a 1025th item both halt with all gas used."""
        frame = run_code(b"\x01")
        self.assertIsInstance(frame.error, StackUnderflow)
        self.assertEqual(frame.gas_left, 0)
        self.assertIsInstance(run_code(PUSH0 * 1025).error, StackOverflow)
        self.assertIsNone(run_code(PUSH0 * 1024).error)

    def test_invalid_opcodes(self):
        """0xfe and undefined bytes halt; PUSH0 is undefined on London."""
        self.assertIsInstance(run_code(b"\xfe").error, InvalidOpcode)
        self.assertIsInstance(run_code(b"\x0c").error, InvalidOpcode)
        self.assertIsInstance(run_code(PUSH0, fork=LONDON).error, InvalidOpcode)

    def test_running_off_the_end_stops(self):
        """Code that ends without STOP succeeds; a PUSH past the end reads zeros."""
        frame = run_code(b"\x61\x01")
        self.assertIsNone(frame.error)


class EnvironmentTests(SynchronousTestCase):
    """Call data, code, return data, accounts (EIP-2929 gas) and block fields."""

    def test_calldataload_pads(self):
        """CALLDATALOAD past the end reads zeros."""
        frame = run_code(push(1) + b"\x35" + returning_top(), data=b"\x11\x22")
        self.assertEqual(result_word(frame), 0x22 << 248)

    def test_caller_address_origin_value(self):
        """CALLER, ADDRESS, ORIGIN and CALLVALUE."""
        self.assertEqual(
            result_word(run_code(b"\x33" + returning_top())), int.from_bytes(CALLER, "big")
        )
        self.assertEqual(
            result_word(run_code(b"\x30" + returning_top())), int.from_bytes(CONTRACT, "big")
        )
        self.assertEqual(
            result_word(run_code(b"\x32" + returning_top())), int.from_bytes(CALLER, "big")
        )
        self.assertEqual(result_word(run_code(b"\x34" + returning_top(), value=5)), 5)

    def test_codecopy_and_codesize(self):
        """CODESIZE is the unpadded size; CODECOPY pads with zeros."""
        code = b"\x38" + returning_top()
        self.assertEqual(result_word(run_code(code)), len(code))

    def test_returndatacopy_out_of_bounds(self):
        """Copying past the return data halts (EIP-211)."""
        frame = run_code(push(1) + push(0) + push(0) + b"\x3e")
        self.assertIsInstance(frame.error, OutOfBoundsRead)

    def test_balance_cold_then_warm(self):
        """BALANCE costs 2600 for a cold address and 100 once warm."""
        state = MemoryState()
        state.set_account(OTHER, balance=77)
        code = (
            push(int.from_bytes(OTHER, "big"))
            + b"\x31"
            + push(int.from_bytes(OTHER, "big"))
            + b"\x31"
        )
        frame = run_code(code, state=state, gas=10_000)
        self.assertEqual(10_000 - frame.gas_left, 3 + 2600 + 3 + 100)
        self.assertEqual(frame.stack, [77, 77])

    def test_extcodehash(self):
        """EXTCODEHASH is 0 for a missing account and keccak(code) otherwise."""
        state = MemoryState()
        state.set_account(OTHER, code=b"\x00", nonce=1)
        frame = run_code(
            push(int.from_bytes(OTHER, "big")) + b"\x3f" + push(0xDEAD) + b"\x3f", state=state
        )
        self.assertEqual(frame.stack, [int.from_bytes(keccak256(b"\x00"), "big"), 0])

    def test_block_fields(self):
        """COINBASE, NUMBER, GASLIMIT, CHAINID, BASEFEE, PREVRANDAO and DIFFICULTY on London."""
        frame = run_code(b"\x41\x43\x45\x46\x48\x44")
        self.assertEqual(
            frame.stack, [int.from_bytes(COINBASE, "big"), 100, 30_000_000, 1, 7, 0x1234]
        )
        self.assertEqual(run_code(b"\x44", fork=LONDON).stack, [0x20000])

    def test_blockhash_window(self):
        """BLOCKHASH answers for the 256 previous blocks only."""
        frame = run_code(
            push(999) + b"\x40" + push(1000) + b"\x40" + push(743) + b"\x40" + push(744) + b"\x40",
            block_hashes=lambda n: n.to_bytes(32, "big"),
            number=1000,
        )
        self.assertEqual(frame.stack, [999, 0, 0, 744])

    def test_blobhash_and_blobbasefee(self):
        """BLOBHASH indexes the transaction's versioned hashes; BLOBBASEFEE is 1 at zero excess."""
        versioned = b"\x01" + bytes(31)
        frame = run_code(push(0) + b"\x49" + push(1) + b"\x49" + b"\x4a", blob_hashes=[versioned])
        self.assertEqual(frame.stack, [int.from_bytes(versioned, "big"), 0, 1])
