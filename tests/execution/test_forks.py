"""Fork rule switches and the per-fork opcode tables."""

from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import block_env, push, run_code
from zkos_tw.execution.forks import CANCUN, FORKS, LONDON, SHANGHAI
from zkos_tw.execution.instructions import control_flow, opcode_table
from zkos_tw.testing import MemoryState


class OpcodeTableTests(SynchronousTestCase):
    """Which opcodes each fork defines."""

    def test_cancun_additions(self):
        """TLOAD, TSTORE, MCOPY, BLOBHASH and BLOBBASEFEE exist from Cancun only."""
        for byte in (0x5C, 0x5D, 0x5E, 0x49, 0x4A):
            self.assertIsNot(opcode_table(CANCUN)[byte], control_flow.invalid)
            self.assertIs(opcode_table(SHANGHAI)[byte], control_flow.invalid)

    def test_push0_from_shanghai(self):
        """PUSH0 exists from Shanghai, not on London."""
        self.assertIsNot(opcode_table(SHANGHAI)[0x5F], control_flow.invalid)
        self.assertIs(opcode_table(LONDON)[0x5F], control_flow.invalid)

    def test_every_table_is_complete(self):
        """Each fork's table has 256 callables."""
        for fork in FORKS.values():
            table = opcode_table(fork)
            self.assertEqual(len(table), 256)
            self.assertTrue(all(callable(entry) for entry in table))

    def test_precompiles_per_fork(self):
        """Point evaluation (0x0a) is warm and callable from Cancun only."""
        state = MemoryState()
        self.assertEqual(len(block_env(state, CANCUN).precompile_addresses()), 10)
        self.assertEqual(len(block_env(state, LONDON).precompile_addresses()), 9)
        self.assertNotIn((10).to_bytes(20, "big"), block_env(state, LONDON).precompiles)


class SelfDestructForkTests(SynchronousTestCase):
    """Before Cancun SELFDESTRUCT always deletes the account (no EIP-6780)."""

    def test_london_selfdestruct_deletes(self):
        """On London a pre-existing contract is scheduled for deletion."""
        frame = run_code(push(0xBB) + b"\xff", fork=LONDON)
        self.assertEqual(len(frame.accounts_to_delete), 1)

    def test_cancun_selfdestruct_keeps(self):
        """On Cancun the same contract is kept."""
        frame = run_code(push(0xBB) + b"\xff", fork=CANCUN)
        self.assertEqual(frame.accounts_to_delete, set())
