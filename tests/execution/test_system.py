"""Calls, creates, RETURN/REVERT, SELFDESTRUCT (EIP-6780) and logs."""

from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import CONTRACT, OTHER, push, result_word, returning_top, run_code
from zkos_tw.execution.exceptions import Revert, WriteInStaticContext
from zkos_tw.execution.interpreter import create2_address, create_address
from zkos_tw.execution.receipts import logs_bloom
from zkos_tw.testing import MemoryState

CALL, STATICCALL, DELEGATECALL, CREATE, CREATE2 = b"\xf1", b"\xfa", b"\xf4", b"\xf0", b"\xf5"
RETURN, REVERT, SELFDESTRUCT, SSTORE, MSTORE = b"\xf3", b"\xfd", b"\xff", b"\x55", b"\x52"
OTHER_INT = int.from_bytes(OTHER, "big")


def call_other(value: int = 0, gas: int = 50_000, op: bytes = CALL, out_size: int = 32) -> bytes:
    """CALL-family instruction to OTHER with no input and ``out_size`` bytes of output at 0."""
    code = push(out_size) + push(0) + push(0) + push(0)
    if op in (CALL, b"\xf2"):
        code += push(value)
    return code + push(OTHER_INT) + push(gas) + op


def store_in_memory(data: bytes) -> bytes:
    """Code that writes ``data`` to memory from offset 0, one 32-byte word at a time."""
    padded = data.ljust((len(data) + 31) // 32 * 32, b"\0")
    code = b""
    for offset in range(0, len(padded), 32):
        code += (
            push(int.from_bytes(padded[offset : offset + 32], "big"), 32) + push(offset) + MSTORE
        )
    return code


def initcode_returning(runtime: bytes) -> bytes:
    """Initcode that returns ``runtime`` (at most 32 bytes) as the contract's code."""
    word = int.from_bytes(runtime.ljust(32, b"\0"), "big")
    return push(word, 32) + push(0) + MSTORE + push(len(runtime)) + push(0) + RETURN


class CallTests(SynchronousTestCase):
    """CALL, STATICCALL, DELEGATECALL and their gas, value and output rules."""

    def _state_with_other(self, code: bytes) -> MemoryState:
        state = MemoryState()
        state.set_account(OTHER, code=code)
        state.set_account(CONTRACT, balance=1000)
        return state

    def test_call_returns_output_and_success(self):
        """A successful CALL pushes 1 and copies the callee's output to memory."""
        state = self._state_with_other(push(42) + returning_top())
        frame = run_code(call_other() + push(0) + b"\x51", state=state)
        self.assertIsNone(frame.error)
        self.assertEqual(frame.stack, [1, 42])

    def test_call_transfers_value(self):
        """CALL with value moves wei from the caller's account to the callee."""
        state = self._state_with_other(b"")
        run_code(call_other(value=300), state=state)
        self.assertEqual(state.get_balance(OTHER), 300)
        self.assertEqual(state.get_balance(CONTRACT), 700)

    def test_call_with_too_much_value_fails_softly(self):
        """CALL with more value than the balance pushes 0 and keeps the caller running."""
        state = self._state_with_other(b"")
        frame = run_code(call_other(value=5000), state=state)
        self.assertIsNone(frame.error)
        self.assertEqual(frame.stack, [0])

    def test_revert_in_callee_undoes_its_writes(self):
        """A callee that stores then reverts leaves storage unchanged; CALL pushes 0."""
        callee = push(1) + push(1) + SSTORE + push(0) + push(0) + REVERT
        state = self._state_with_other(callee)
        frame = run_code(call_other(), state=state)
        self.assertEqual(frame.stack, [0])
        self.assertEqual(state.get_storage(OTHER, 1), 0)

    def test_63_64_rule(self):
        """A CALL asking for more gas than available gets all but 1/64 of what is left."""
        state = self._state_with_other(b"\x5a" + returning_top())  # GAS
        code = call_other(gas=10**9) + push(0) + b"\x51"
        frame = run_code(code, state=state, gas=100_000)
        available = 100_000 - 3 * 7 - 2600 - 3  # seven pushes, cold OTHER, one memory word
        self.assertEqual(frame.stack[-1], available - available // 64 - 2)

    def test_staticcall_forbids_writes(self):
        """SSTORE under STATICCALL fails the callee; the caller continues."""
        state = self._state_with_other(push(1) + push(1) + SSTORE)
        frame = run_code(call_other(op=STATICCALL), state=state)
        self.assertEqual(frame.stack, [0])

    def test_delegatecall_runs_in_caller_context(self):
        """DELEGATECALL writes the caller's storage."""
        state = self._state_with_other(push(9) + push(1) + SSTORE)
        run_code(call_other(op=DELEGATECALL), state=state)
        self.assertEqual(state.get_storage(CONTRACT, 1), 9)
        self.assertEqual(state.get_storage(OTHER, 1), 0)

    def test_static_frame_rejects_value_call(self):
        """CALL with value inside a static frame halts."""
        state = self._state_with_other(b"")
        frame = run_code(call_other(value=1), state=state, is_static=True)
        self.assertIsInstance(frame.error, WriteInStaticContext)


class CreateTests(SynchronousTestCase):
    """CREATE, CREATE2, code deposit and collisions."""

    def _create(self, op: bytes, initcode: bytes, salt: int = 0, state=None):
        code = store_in_memory(initcode)
        if op == CREATE2:
            code += push(salt)
        code += push(len(initcode)) + push(0) + push(0) + op
        return run_code(code, state=state or MemoryState())

    def test_create_deploys_code(self):
        """CREATE pushes keccak(rlp([sender, nonce]))[12:] and stores the returned code."""
        state = MemoryState()
        state.set_account(CONTRACT, nonce=1)
        frame = self._create(CREATE, initcode_returning(b"\x60\x01"), state=state)
        address = create_address(CONTRACT, 1)
        self.assertEqual(frame.stack, [int.from_bytes(address, "big")])
        self.assertEqual(state.get_code(address), b"\x60\x01")
        self.assertEqual(state.get_nonce(address), 1)
        self.assertEqual(state.get_nonce(CONTRACT), 2)

    def test_create2_address(self):
        """CREATE2 lands at the EIP-1014 address."""
        initcode = initcode_returning(b"\x00")
        frame = self._create(CREATE2, initcode, salt=7)
        self.assertEqual(
            frame.stack, [int.from_bytes(create2_address(CONTRACT, 7, initcode), "big")]
        )

    def test_create2_collision(self):
        """A second CREATE2 with the same salt and code collides and pushes 0."""
        initcode = initcode_returning(b"\x00")
        state = MemoryState()
        state.set_account(create2_address(CONTRACT, 7, initcode), nonce=1)
        frame = self._create(CREATE2, initcode, salt=7, state=state)
        self.assertEqual(frame.stack, [0])

    def test_ef_prefix_rejected(self):
        """Returned code starting with 0xef is refused (EIP-3541)."""
        frame = self._create(CREATE, initcode_returning(b"\xef"))
        self.assertEqual(frame.stack, [0])


class SelfDestructTests(SynchronousTestCase):
    """SELFDESTRUCT after EIP-6780 and its effect on balances."""

    def test_moves_balance_but_keeps_account(self):
        """Outside its creating transaction a contract only sends its balance away."""
        state = MemoryState()
        state.set_account(CONTRACT, balance=500)
        frame = run_code(push(OTHER_INT) + SELFDESTRUCT, state=state)
        self.assertIsNone(frame.error)
        self.assertEqual(state.get_balance(OTHER), 500)
        self.assertEqual(state.get_balance(CONTRACT), 0)
        self.assertEqual(frame.accounts_to_delete, set())
        self.assertTrue(state.get_code(CONTRACT))

    def test_created_in_same_transaction_is_deleted(self):
        """A contract created and destroyed in one transaction is scheduled for deletion."""
        runtime_free_init = push(OTHER_INT) + SELFDESTRUCT
        word = int.from_bytes(runtime_free_init.ljust(32, b"\0"), "big")
        code = push(word, 32) + push(0) + MSTORE
        code += push(len(runtime_free_init)) + push(0) + push(0) + CREATE
        frame = run_code(code)
        self.assertEqual(len(frame.accounts_to_delete), 1)


class RevertAndLogTests(SynchronousTestCase):
    """REVERT keeps gas and output; LOGn records topics and data."""

    def test_revert_returns_output_and_gas(self):
        """REVERT sets the output and leaves the unused gas."""
        frame = run_code(push(0xAA) + push(0) + MSTORE + push(32) + push(0) + REVERT, gas=1000)
        self.assertIsInstance(frame.error, Revert)
        self.assertEqual(result_word(frame), 0xAA)
        self.assertTrue(frame.gas_left > 900)

    def test_log2(self):
        """LOG2 records the address, two topics in order and the data; bloom contains them."""
        code = (
            push(0x1234) + push(0) + MSTORE + push(0xB) + push(0xA) + push(32) + push(0) + b"\xa2"
        )
        frame = run_code(code)
        (log,) = frame.logs
        self.assertEqual(log.address, CONTRACT)
        self.assertEqual(log.topics, ((0xA).to_bytes(32, "big"), (0xB).to_bytes(32, "big")))
        self.assertEqual(log.data, (0x1234).to_bytes(32, "big"))
        bloom = int.from_bytes(logs_bloom(frame.logs), "big")
        self.assertTrue(0 < bin(bloom).count("1") <= 9)

    def test_log_in_static_frame(self):
        """LOG0 under a static frame halts."""
        frame = run_code(push(0) + push(0) + b"\xa0", is_static=True)
        self.assertIsInstance(frame.error, WriteInStaticContext)
