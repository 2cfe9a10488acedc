"""``L1Health``: whether L1 answers, as the status service and the metrics read it.

The L1 client reports every request outcome here: an answer (a JSON-RPC error counts, the node
answered) marks L1 reachable; a transport failure, a timeout or an HTTP error after the retries
marks it unreachable with the cause. ``problems()`` has the shape of ``IHealthSource.problems``.
"""

from __future__ import annotations


class L1Health:
    """The last known state of the L1 connection; ``clock`` gives ``seconds()``."""

    def __init__(self, clock):
        self._clock = clock
        #: ``None`` before the first request, then ``True`` / ``False``.
        self.reachable: bool | None = None
        self.last_error: str | None = None
        self.last_success_at: float | None = None
        self.last_failure_at: float | None = None
        self.consecutive_failures = 0

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
        """``["L1 unreachable: <cause>"]`` while the last request failed, else ``[]``."""
        if self.reachable is False:
            return [f"L1 unreachable: {self.last_error}"]
        return []

    def as_json(self) -> dict:
        """A JSON-ready snapshot for the status endpoint."""
        return {
            "reachable": self.reachable,
            "last_error": self.last_error,
            "last_success_at": self.last_success_at,
            "consecutive_failures": self.consecutive_failures,
        }
