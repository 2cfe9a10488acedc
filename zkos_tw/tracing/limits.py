"""What keeps a trace from hurting the node: a deadline and a cap on traces running at once.

* ``Deadline``: a tracer wrapper that raises ``TraceTimeout`` from the next event once the
  ``timeout`` passed (geth's option, a Go duration such as ``"5s"``; default 5 s). Events come
  at every frame and, for the struct logger, every instruction; a frame running on the
  compiled loop without a step tracer is not interrupted inside (it is bounded by its gas).
* ``TraceSlots``: at most N traces at once; one more is refused at once with ``TOO_MANY``.
"""

from __future__ import annotations

import re
import time

from zkos_tw.tracing.errors import TIMEOUT, TOO_MANY, TraceError

DEFAULT_TIMEOUT = 5.0
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


class TraceTimeout(TraceError):
    """The trace ran past its deadline (geth's ``execution timeout``)."""

    def __init__(self):
        super().__init__(TIMEOUT)


def parse_timeout(value) -> float:
    """Seconds of a Go duration string (``"300ms"``, ``"1m30s"``); ``None``: the default."""
    if value is None:
        return DEFAULT_TIMEOUT
    if not isinstance(value, str):
        raise TraceError(f"json: cannot unmarshal {type(value).__name__} into timeout string")
    text = value.strip()
    seconds = 0.0
    pos = 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise TraceError(f'time: invalid duration "{value}"')
    return seconds


class Deadline:
    """Forwards every event to ``tracer``; raises ``TraceTimeout`` once ``clock()`` passes
    ``deadline``. Steps check the clock every 256 instructions."""

    def __init__(self, tracer, deadline: float, clock=time.monotonic):
        self.tracer = tracer
        self.wants_steps = tracer.wants_steps
        self.deadline = deadline
        self.clock = clock
        self.steps = 0

    def _check(self) -> None:
        if self.clock() >= self.deadline:
            raise TraceTimeout()

    def on_tx_start(self, gas_limit, first_log_index=0):
        self._check()
        self.tracer.on_tx_start(gas_limit, first_log_index)

    def on_tx_context(self, *args):
        self.tracer.on_tx_context(*args)

    def on_enter(self, *args):
        self._check()
        self.tracer.on_enter(*args)

    def on_exit(self, *args):
        self.tracer.on_exit(*args)

    def on_log(self, log):
        self.tracer.on_log(log)

    def on_selfdestruct(self, address, beneficiary, balance):
        self.tracer.on_selfdestruct(address, beneficiary, balance)

    def on_step(self, evm, op, depth):
        self.steps += 1
        if not self.steps & 255:
            self._check()
        self.tracer.on_step(evm, op, depth)

    def on_step_done(self, evm):
        self.tracer.on_step_done(evm)

    def on_tx_end(self, gas_used):
        self.tracer.on_tx_end(gas_used)

    def result(self):
        return self.tracer.result()


class TraceSlots:
    """Counts running traces (reactor thread only)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.running = 0

    def acquire(self) -> None:
        """Take a slot or raise ``TraceError`` (too many traces)."""
        if self.running >= self.limit:
            raise TraceError(TOO_MANY.format(limit=self.limit))
        self.running += 1

    def release(self) -> None:
        self.running -= 1
