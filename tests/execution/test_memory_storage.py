"""Memory, storage and transient-storage instructions, with their gas rules."""

from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import CONTRACT, compute, push, run_code
from zkos_tw.execution.exceptions import OutOfGas, WriteInStaticContext
from zkos_tw.execution.forks import LONDON
from zkos_tw.testing import MemoryState

MLOAD, MSTORE, MSTORE8, SLOAD, SSTORE, MSIZE = b"\x51", b"\x52", b"\x53", b"\x54", b"\x55", b"\x59"
TLOAD, TSTORE, MCOPY, STOP = b"\x5c", b"\x5d", b"\x5e", b"\x00"


class MemoryTests(SynchronousTestCase):
    """MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY and memory expansion gas."""

    def test_store_and_load(self):
        """MSTORE then MLOAD at an unaligned offset reads the word back."""
        self.assertEqual(compute(push(0xBEEF), push(5), MSTORE, push(5), MLOAD), 0xBEEF)

    def test_mstore8_and_msize(self):
        """MSTORE8 writes one byte; MSIZE rounds up to whole words."""
        self.assertEqual(compute(push(0x1FF), push(33), MSTORE8, MSIZE), 64)
        self.assertEqual(compute(push(0x1FF), push(31), MSTORE8, push(0), MLOAD), 0xFF)

    def test_expansion_gas(self):
        """Touching word 0 costs 3 for the memory; a 1024-word memory costs 3*1024 + 1024**2/512."""
        frame = run_code(push(0) + MLOAD, gas=100)
        self.assertEqual(100 - frame.gas_left, 3 + 3 + 3)
        frame = run_code(push(1023 * 32) + MLOAD, gas=100_000)
        self.assertEqual(100_000 - frame.gas_left, 3 + 3 + 3 * 1024 + 1024 * 1024 // 512)

    def test_huge_offset_is_out_of_gas(self):
        """An offset near 2**256 halts with OutOfGas instead of allocating."""
        frame = run_code(push(2**255) + MLOAD, gas=10**7)
        self.assertIsInstance(frame.error, OutOfGas)
        self.assertEqual(frame.gas_left, 0)

    def test_mcopy_overlapping(self):
        """MCOPY (EIP-5656) copies as if through a buffer when regions overlap."""
        code = push(0x0102030405, 32) + push(0) + MSTORE
        code += push(8) + push(27) + push(28) + MCOPY  # size, source, destination
        self.assertEqual(compute(code, push(0), MLOAD), 0x0101020304)

    def test_mcopy_absent_before_cancun(self):
        """0x5e is an invalid opcode on London."""
        frame = run_code(push(0) + push(0) + push(0) + MCOPY, fork=LONDON)
        self.assertIsNotNone(frame.error)


class StorageTests(SynchronousTestCase):
    """SSTORE gas and refunds (EIP-2200/2929/3529) and EIP-1153 transient storage."""

    def _sstore_gas(self, original: int, value: int, gas: int = 100_000):
        state = MemoryState()
        state.set_account(CONTRACT, storage={1: original} if original else {})
        frame = run_code(push(value) + push(1) + SSTORE, state=state, gas=gas)
        return gas - frame.gas_left - 6, frame.refund_counter, state

    def test_sstore_new_slot(self):
        """0 -> X on a cold slot costs 2100 + 20000."""
        gas, refund, state = self._sstore_gas(0, 5)
        self.assertEqual((gas, refund), (22100, 0))
        self.assertEqual(state.get_storage(CONTRACT, 1), 5)

    def test_sstore_update_and_clear(self):
        """X -> Y costs 2100 + 2900; X -> 0 also refunds 4800."""
        self.assertEqual(self._sstore_gas(3, 5)[:2], (5000, 0))
        self.assertEqual(self._sstore_gas(3, 0)[:2], (5000, 4800))

    def test_sstore_no_op(self):
        """X -> X costs 2100 + 100 and refunds nothing."""
        self.assertEqual(self._sstore_gas(3, 3)[:2], (2200, 0))

    def test_sstore_restore_refund(self):
        """0 -> X -> 0 in one transaction refunds 19900 of the set cost."""
        frame = run_code(push(5) + push(1) + SSTORE + push(0) + push(1) + SSTORE)
        self.assertEqual(frame.refund_counter, 19900)

    def test_sstore_stipend_guard(self):
        """SSTORE with 2300 gas or less left halts (EIP-2200)."""
        frame = run_code(push(5) + push(1) + SSTORE, gas=2306)
        self.assertIsInstance(frame.error, OutOfGas)

    def test_sload_warm_and_cold(self):
        """The first SLOAD of a slot costs 2100, the next 100."""
        frame = run_code(push(1) + SLOAD + push(1) + SLOAD, gas=10_000)
        self.assertEqual(10_000 - frame.gas_left, 3 + 2100 + 3 + 100)

    def test_sstore_static(self):
        """SSTORE in a static frame halts."""
        frame = run_code(push(5) + push(1) + SSTORE, is_static=True)
        self.assertIsInstance(frame.error, WriteInStaticContext)

    def test_transient_roundtrip(self):
        """TSTORE then TLOAD in one transaction, each 100 gas; nothing reaches storage."""
        state = MemoryState()
        code = push(7) + push(1) + TSTORE + push(1) + TLOAD + push(0) + MSTORE
        code += push(32) + push(0) + b"\xf3"
        frame = run_code(code, state=state)
        self.assertEqual(int.from_bytes(frame.output, "big"), 7)
        self.assertEqual(state.get_storage(CONTRACT, 1), 0)
        self.assertEqual(state.get_transient_storage(CONTRACT, 1), 0)

    def test_tstore_static(self):
        """TSTORE in a static frame halts (EIP-1153)."""
        frame = run_code(push(7) + push(1) + TSTORE, is_static=True)
        self.assertIsInstance(frame.error, WriteInStaticContext)
