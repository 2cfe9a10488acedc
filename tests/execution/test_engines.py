"""The choice of instruction loop: ``zkos_tw.execution.engines`` and ``BlockEnvironment.engine``.

The compiled loop (``ext/_evm.pyx``) must be loaded when ``ZKOS_REQUIRE_EXTENSIONS=1`` and must
not be when ``ZKOS_NO_EXTENSIONS=1``; every block runs all its frames (child frames included)
on the loop it was given.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import CONTRACT, OTHER, push, run_code
from zkos_tw import extensions
from zkos_tw.execution import engines, interpreter
from zkos_tw.execution.message import BlockEnvironment
from zkos_tw.testing import MemoryState


class EngineChoiceTests(SynchronousTestCase):
    """``engines`` exports PURE, CEXT, DEFAULT, EXTENSION_LOADED and ``by_name``."""

    def test_required_extension_is_loaded(self):
        """Under ZKOS_REQUIRE_EXTENSIONS the compiled EVM is the default; under NO, pure.

        This is the test that fails when the _evm extension was required but did not load.
        """
        if extensions.REQUIRE_EXTENSIONS:
            self.assertTrue(engines.EXTENSION_LOADED, "zkos_tw._ext._evm did not load")
            self.assertIsNotNone(engines.CEXT)
            self.assertIs(engines.DEFAULT, engines.CEXT)
            self.assertTrue(extensions.LOADED["_evm"])
        if extensions.NO_EXTENSIONS:
            self.assertFalse(engines.EXTENSION_LOADED)
            self.assertIsNone(engines.CEXT)
            self.assertIs(engines.DEFAULT, engines.PURE)

    def test_default_follows_the_loaded_module(self):
        """DEFAULT is CEXT exactly when the extension loaded, PURE otherwise."""
        self.assertEqual(engines.EXTENSION_LOADED, engines.CEXT is not None)
        self.assertIs(engines.DEFAULT, engines.CEXT if engines.EXTENSION_LOADED else engines.PURE)
        self.assertIs(engines.PURE, interpreter.execute_code)

    def test_by_name(self):
        """Names map to loops; an unknown name or a missing compiled loop is a ValueError."""
        self.assertIs(engines.by_name("pure"), engines.PURE)
        self.assertIs(engines.by_name("default"), engines.DEFAULT)
        if engines.CEXT is None:
            self.assertRaises(ValueError, engines.by_name, "cext")
        else:
            self.assertIs(engines.by_name("cext"), engines.CEXT)
        error = self.assertRaises(ValueError, engines.by_name, "fast")
        self.assertIn("unknown EVM engine", str(error))
        self.assertEqual(engines.name_of(engines.PURE), "pure")

    def test_block_environment_engine(self):
        """``engine=None`` means DEFAULT; an explicit loop is kept."""
        kwargs = dict(coinbase=bytes(20), number=1, gas_limit=10**7, timestamp=1)
        self.assertIs(BlockEnvironment(MemoryState(), **kwargs).engine, engines.DEFAULT)
        env = BlockEnvironment(MemoryState(), engine=engines.PURE, **kwargs)
        self.assertIs(env.engine, engines.PURE)


class EngineUseTests(SynchronousTestCase):
    """Every frame of a block, child frames too, runs on the block's loop."""

    def test_child_frames_use_the_block_engine(self):
        """A CALL from the top frame runs the callee through the same engine."""
        calls = []

        def recording(message, block_env, tx_env):
            calls.append(message.current_target)
            return engines.PURE(message, block_env, tx_env)

        state = MemoryState()
        state.set_account(OTHER, code=push(7) + push(0) + b"\x52" + push(32) + push(0) + b"\xf3")
        # CALL(gas, OTHER, 0, 0, 0, 0, 32) then return memory[0:32]
        code = (
            push(32) + push(0) + push(0) + push(0) + push(0)
            + push(int.from_bytes(OTHER, "big")) + push(100_000) + b"\xf1"
            + push(32) + push(0) + b"\xf3"
        )  # fmt: skip
        frame = run_code(code, state=state, engine=recording)
        self.assertIsNone(frame.error)
        self.assertEqual(int.from_bytes(frame.output, "big"), 7)
        self.assertEqual(calls, [CONTRACT, OTHER])
