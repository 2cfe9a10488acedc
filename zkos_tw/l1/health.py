"""``L1Health``: whether L1 answers, as the status service and the metrics read it.

The L1 client reports every request outcome here: an answer (a JSON-RPC error counts, the node
answered) marks L1 reachable; a transport failure, a timeout or an HTTP error after the retries
marks it unreachable with the cause. It also reports when each request starts, so an L1 that
accepts connections but does not answer (a stopped process) shows up after ``stall_after``
seconds, before the retries are used up. ``problems()`` has the shape of
``IHealthSource.problems``.
"""

from __future__ import annotations

#: An L1 request pending longer than this makes L1 unhealthy (seconds).
DEFAULT_STALL_AFTER = 5.0


class L1Health:
    """The last known state of the L1 connection; ``clock`` gives ``seconds()``."""

    def __init__(self, clock, stall_after: float = DEFAULT_STALL_AFTER):
        self._clock = clock
        self.stall_after = stall_after
        self._pending: dict[int, float] = {}
        self._tokens = 0
        #: ``None`` before the first request, then ``True`` / ``False``.
        self.reachable: bool | None = None
        self.last_error: str | None = None
        self.last_success_at: float | None = None
        self.last_failure_at: float | None = None
        self.consecutive_failures = 0

    def started(self) -> int:
        """An L1 request (with its retries) starts; pass the token to ``ended``."""
        self._tokens += 1
        self._pending[self._tokens] = self._clock.seconds()
        return self._tokens

    def ended(self, token: int) -> None:
        """The request of ``token`` is over (answered or failed)."""
        self._pending.pop(token, None)

    def stalled_for(self) -> float:
        """Seconds the oldest pending request has been waiting (0 when none)."""
        if not self._pending:
            return 0.0
        return self._clock.seconds() - min(self._pending.values())

    def succeeded(self) -> None:
        """An L1 request got an answer."""
        self.reachable = True
        self.last_success_at = self._clock.seconds()
        self.consecutive_failures = 0

    def failed(self, cause: str) -> None:
        """An L1 request got no usable answer (after its retries)."""
        self.reachable = False
        self.last_error = cause
        self.last_failure_at = self._clock.seconds()
        self.consecutive_failures += 1

    def problems(self) -> list[str]:
        """``["L1 unreachable: <cause>"]`` while the last request failed, ``["L1 not answering
        for N s"]`` while a request waits longer than ``stall_after``, else ``[]``."""
        if self.reachable is False:
            return [f"L1 unreachable: {self.last_error}"]
        stalled = self.stalled_for()
        if stalled > self.stall_after:
            return [f"L1 not answering for {stalled:.0f} s"]
        return []

    def as_json(self) -> dict:
        """A JSON-ready snapshot for the status endpoint."""
        return {
            "reachable": self.reachable,
            "last_error": self.last_error,
            "last_success_at": self.last_success_at,
            "consecutive_failures": self.consecutive_failures,
            "stalled_for": round(self.stalled_for(), 3),
        }
