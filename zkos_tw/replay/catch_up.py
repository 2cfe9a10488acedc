"""``CatchUpMonitor``: how far behind the main node an external node is, and whether it stalled.

Every ``interval`` seconds it asks the main node for its newest block (``main_tip()``, a
Deferred) and compares it with ours (``follower.tip()``):

* behind: logs ``catch-up: block N of M, K blocks left, R blocks/s, ETA T s`` (R over the last
  interval);
* behind and no block stored for ``stall_timeout`` seconds: the problem ``en_stall`` on
  ``/status/health`` (the node turns unhealthy), cleared by the next stored block or when the
  main node is no longer ahead;
* the main node not answering leaves the status as it was and logs once per outage.
"""

from __future__ import annotations

from twisted.application.internet import TimerService
from twisted.internet import defer
from twisted.logger import Logger

log = Logger()

PROBLEM = "en_stall"


def check_interval(stall_timeout: float) -> float:
    """How often to look: a few times per ``stall_timeout``, at most every 5 s."""
    return max(0.2, min(5.0, stall_timeout / 3))


class CatchUpMonitor(TimerService):
    """See the module docstring; ``last_report`` holds the last numbers for tests and health."""

    name = "en-catch-up"

    def __init__(self, clock, follower, main_tip, status, stall_timeout: float, interval=None):
        super().__init__(interval or check_interval(stall_timeout), self.check)
        self.clock = clock
        self._follower = follower
        self._main_tip = main_tip
        self._status = status
        self._stall_timeout = stall_timeout
        self._last_tip: int | None = None
        self._last_at: float | None = None
        self._main_unreachable = False
        self.last_report: dict | None = None

    @defer.inlineCallbacks
    def check(self):
        try:
            main = yield self._main_tip()
        except Exception as e:  # noqa: BLE001 - any failure: the main node is not answering
            if not self._main_unreachable:
                log.warn("catch-up: the main node does not answer: {error}", error=str(e))
            self._main_unreachable = True
            return
        self._main_unreachable = False
        self.observe(main)

    def observe(self, main: int) -> dict:
        """Compare the main node's tip ``main`` with ours; log and set the health problem."""
        now = self.clock.seconds()
        ours = self._follower.tip()
        left = max(0, main - ours)
        rate = 0.0
        if self._last_tip is not None and now > self._last_at:
            rate = (ours - self._last_tip) / (now - self._last_at)
        self._last_tip, self._last_at = ours, now
        quiet = now - self._follower.last_block_at
        stalled = left > 0 and quiet >= self._stall_timeout
        eta = left / rate if rate > 0 else None
        self.last_report = {
            "ours": ours,
            "main": main,
            "left": left,
            "blocks_per_second": rate,
            "eta_seconds": eta,
            "stalled": stalled,
        }
        if left > 0:
            log.info(
                "catch-up: block {ours} of {main}, {left} blocks left, {rate:.1f} blocks/s, "
                "ETA {eta}",
                ours=ours,
                main=main,
                left=left,
                rate=rate,
                eta="unknown" if eta is None else f"{eta:.0f} s",
            )
        if stalled:
            self._status.set_problem(
                PROBLEM,
                f"no block for {quiet:.0f} s while the main node is {left} blocks ahead "
                f"(block {ours} of {main})",
            )
        else:
            self._status.clear_problem(PROBLEM)
        return self.last_report
