"""``Launcher``: the node's asynchronous start-up, run once the reactor is running.

Start-up is a list of named steps (coroutine functions). They run in order; when all succeed the
node is marked running. When one fails, one readable line is logged (a traceback only for
unexpected errors), the node is marked failed, the reactor stops — which stops every service,
child processes included — and the process exits with status 1.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger

from zkos_tw.status.node_status import NodeStatus

log = Logger()

Step = tuple[str, Callable[[], Awaitable[object]]]


class StartupError(Exception):
    """A known reason the node cannot start; its text is the one line the user sees."""


def _exit_nonzero() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


class Launcher(Service):
    """Runs the start-up steps after the reactor starts; stops the reactor if one fails."""

    name = "launcher"

    def __init__(
        self,
        reactor,
        status: NodeStatus,
        steps: list[Step],
        *,
        known_errors: tuple[type[BaseException], ...] = (StartupError,),
        on_started: Callable[[float], None] | None = None,
        _exit: Callable[[], None] = _exit_nonzero,
    ):
        self._reactor = reactor
        self._status = status
        self._steps = list(steps)
        self._known_errors = known_errors
        self._on_started = on_started
        self._exit = _exit
        self._started_at = time.monotonic()
        self.done: defer.Deferred | None = None

    def add_step(self, name: str, step: Callable[[], Awaitable[object]]) -> None:
        """Append a start-up step (before the service starts)."""
        self._steps.append((name, step))

    def startService(self) -> None:
        super().startService()
        self._reactor.callWhenRunning(self._launch)

    def _launch(self) -> None:
        self.done = defer.ensureDeferred(self._run())
        self.done.addErrback(self._failed)

    async def _run(self) -> None:
        for name, step in self._steps:
            if not self.running:
                return
            log.info("start-up: {step}", step=name)
            await step()
        if not self.running:
            return
        self._status.set_phase("running")
        elapsed = time.monotonic() - self._started_at
        if self._on_started is not None:
            self._on_started(elapsed)
        log.info(
            "zkos-tw node is running ({role}, start-up took {s:.2f}s)",
            role=self._status.role,
            s=elapsed,
        )

    def _failed(self, failure) -> None:
        self._status.set_phase("failed")
        if failure.check(*self._known_errors):
            log.critical("start-up failed: {reason}", reason=failure.getErrorMessage())
        else:
            log.failure("start-up failed with an unexpected error", failure)
        if self._reactor.running:
            self._reactor.addSystemEventTrigger("after", "shutdown", self._exit)
            self._reactor.stop()

    def stopService(self):
        if self._status.phase != "failed":
            self._status.set_phase("stopping")
        return super().stopService()
