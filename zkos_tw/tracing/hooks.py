"""Turn one block environment's execution into tracer events, on either instruction loop.

``attach(block_env, tracer)`` swaps two per-block attributes and changes nothing else:

* ``block_env.engine`` (the instruction loop of every frame) is wrapped: ``on_enter`` before a
  frame runs, ``on_exit`` after. Both loops run child frames through ``process_message``, so
  this sees every frame, the compiled loop's too.
* ``block_env.opcodes`` (the table) gets wrappers for the instructions that open frames
  (CALL family, CREATE, CREATE2): they tell the next ``on_enter`` its type, report a frame that
  never ran (depth, balance, collision: geth reports those too), and flush the frame's own
  logs before the child (``on_log`` comes in the order geth gives it: a log's ``position`` is
  how many child calls came before it). The compiled loop runs these instructions from the
  table, so it sees the wrappers. SELFDESTRUCT (also run from the table by the compiled loop)
  is wrapped too: ``on_selfdestruct`` once it succeeded.
* A tracer with ``wants_steps`` gets ``on_step`` for every instruction: every table entry is
  wrapped and the frames run on the **pure** loop (the compiled loop runs most instructions
  in C, out of the table's reach). Results are the same by the loops' bit-identity contract.

Tracers implement ``ITracer`` (``zkos_tw.interfaces``); events carry geth's values: the call
type as an opcode, ``gas`` given to the frame, ``gas_used`` by it, the error text.
"""

from __future__ import annotations

from zkos_tw.execution import engines
from zkos_tw.execution.exceptions import Revert
from zkos_tw.execution.gas import GAS_CODE_DEPOSIT
from zkos_tw.execution.message import MAX_CODE_SIZE, MAX_STACK_DEPTH
from zkos_tw.tracing import errors
from zkos_tw.tracing.opcodes import (
    CALL,
    CALLCODE,
    CREATE,
    CREATE2,
    DELEGATECALL,
    FRAME_OPENERS,
)

SELFDESTRUCT = 0xFF


class _Open:
    """A frame between ``on_enter`` and ``on_exit``: how many of its logs were reported."""

    __slots__ = ("flushed",)

    def __init__(self):
        self.flushed = 0


class Hooks:
    """The wrappers of one traced block environment."""

    def __init__(self, tracer, inner_engine, table):
        self.tracer = tracer
        self.inner = engines.PURE if tracer.wants_steps else inner_engine
        self.stack: list[_Open] = []
        self.pending: int | None = None  # the opener running now (its opcode)
        self.entered = False
        self.table = self._wrap_table(table)

    # -- frames ---------------------------------------------------------------------------------

    def engine(self, message, block_env, tx_env):
        depth = message.depth
        kind = self.pending
        if kind is None:
            kind = CREATE if message.target is None else CALL
        self.pending = None
        self.entered = True
        self.stack.append(_Open())
        to = message.code_address if kind in (DELEGATECALL, CALLCODE) else message.current_target
        # A DELEGATECALL frame keeps its parent's caller; geth and revm report the contract
        # that delegated (the frame's own address) as ``from``.
        caller = message.current_target if kind == DELEGATECALL else message.caller
        data = message.code if message.target is None else message.data
        self.tracer.on_enter(depth, kind, caller, to, data, message.gas, message.value)
        frame = self.inner(message, block_env, tx_env)
        self._flush_logs(frame)
        self.stack.pop()
        self._exit(depth, kind, message, frame)
        return frame

    def _exit(self, depth, kind, message, frame) -> None:
        error = frame.error
        gas_used = message.gas - frame.gas_left
        if error is None and kind in (CREATE, CREATE2):
            text = _deposit_error(frame.output, frame.gas_left)
            if text is not None:
                self.tracer.on_exit(depth, b"", message.gas, text, False)
                return
            # The code deposit is charged after the loop returns (``process_create_message``):
            # the frame's gas used includes it, as geth's and revm's.
            gas_used += len(frame.output) * GAS_CODE_DEPOSIT
        if error is None:
            self.tracer.on_exit(depth, frame.output, gas_used, None, False)
        else:
            text = errors.error_text(error)
            self.tracer.on_exit(depth, frame.output, gas_used, text, isinstance(error, Revert))

    def _flush_logs(self, frame) -> None:
        record = self.stack[-1]
        logs = frame.logs
        for log in logs[record.flushed :]:
            self.tracer.on_log(log)
        record.flushed = len(logs)

    # -- the table ------------------------------------------------------------------------------

    def _wrap_table(self, table) -> tuple:
        wrapped = list(table)
        for op in FRAME_OPENERS:
            wrapped[op] = self._opener(op, table[op])
        wrapped[SELFDESTRUCT] = self._selfdestruct(table[SELFDESTRUCT])
        if self.tracer.wants_steps:
            wrapped = [self._stepper(op, f) for op, f in enumerate(wrapped)]
        return tuple(wrapped)

    def _opener(self, op: int, instruction):
        def opener(evm):
            self._flush_logs(evm)
            text = _never_runs(op, evm)
            target = evm.stack[-2] if len(evm.stack) >= 2 else 0
            value = evm.stack[-3] if op in (CALL, CALLCODE) and len(evm.stack) >= 3 else 0
            self.pending = op
            self.entered = False
            instruction(evm)
            self.pending = None
            if not self.entered and text is not None:
                to = (target & ((1 << 160) - 1)).to_bytes(20, "big")
                depth = evm.message.depth + 1
                self.tracer.on_enter(depth, op, evm.message.current_target, to, b"", 0, value)
                self.tracer.on_exit(depth, b"", 0, text, False)
            # A successful child's logs are in ``evm.logs`` now: the child reported them.
            self.stack[-1].flushed = len(evm.logs)

        return opener

    def _selfdestruct(self, instruction):
        tracer = self.tracer

        def selfdestruct(evm):
            me = evm.message.current_target
            beneficiary = evm.stack[-1] if evm.stack else 0
            balance = evm.state.get_balance(me)
            instruction(evm)
            to = (beneficiary & ((1 << 160) - 1)).to_bytes(20, "big")
            tracer.on_selfdestruct(me, to, balance)

        return selfdestruct

    def _stepper(self, op: int, instruction):
        tracer = self.tracer
        stack = self.stack

        def step(evm):
            tracer.on_step(evm, op, len(stack))
            instruction(evm)
            tracer.on_step_done(evm)

        return step


def _deposit_error(code: bytes, gas_left: int):
    """Why a create whose initcode succeeded still failed (geth's order of checks)."""
    if len(code) > MAX_CODE_SIZE:
        return errors.MAX_CODE_SIZE_EXCEEDED
    if code and code[0] == 0xEF:
        return "invalid code: must not begin with 0xef"
    if gas_left < len(code) * GAS_CODE_DEPOSIT:
        return errors.CODE_STORE_OUT_OF_GAS
    return None


def _never_runs(op: int, evm):
    """Geth's error for a CALL-family frame that will not run although its instruction
    succeeds (depth, balance), else None. (Creates that never run are not reported: see
    docs/tracing.md.)"""
    if op in (CREATE, CREATE2):
        return None
    if evm.message.depth + 1 > MAX_STACK_DEPTH:
        return errors.DEPTH_EXCEEDED
    if op in (CALL, CALLCODE) and len(evm.stack) >= 3:
        value = evm.stack[-3]
        if value and evm.state.get_balance(evm.message.current_target) < value:
            return errors.INSUFFICIENT_BALANCE
    return None


def attach(block_env, tracer) -> Hooks:
    """Make ``block_env`` report to ``tracer``; ``detach`` undoes it."""
    hooks = Hooks(tracer, block_env.engine, block_env.opcodes)
    hooks.saved = (block_env.engine, block_env.opcodes)
    block_env.engine = hooks.engine
    block_env.opcodes = hooks.table
    return hooks


def detach(block_env, hooks: Hooks) -> None:
    """Give ``block_env`` back its own loop and table."""
    block_env.engine, block_env.opcodes = hooks.saved
