"""Tests for ``zkos_tw.launcher``: ordered start-up steps, and a clean stop when one fails."""

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.launcher import Launcher, StartupError
from zkos_tw.status.node_status import NodeStatus


class RunningReactor(MemoryReactorClock):
    """A memory reactor that is 'running' and records stop() and system event triggers."""

    def __init__(self):
        super().__init__()
        self.running = True
        self.stopped = False

    def stop(self):
        self.stopped = True
        self.running = False


class LauncherTests(SynchronousTestCase):
    """The launcher service."""

    def setUp(self):
        self.reactor = RunningReactor()
        self.status = NodeStatus("main_node")
        self.exits = []
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def launcher(self, steps, **kwargs):
        launcher = Launcher(
            self.reactor, self.status, steps, _exit=lambda: self.exits.append(1), **kwargs
        )
        launcher.startService()
        for hook, args, kw in self.reactor.whenRunningHooks:
            hook(*args, **kw)
        return launcher

    def test_steps_in_order_then_running(self):
        """Steps run in order after the reactor runs; then the node is running."""
        order = []
        waiting = defer.Deferred()

        async def first():
            order.append("first")
            await waiting

        async def second():
            order.append("second")

        started = []
        self.launcher([("one", first), ("two", second)], on_started=started.append)
        self.assertEqual(order, ["first"])
        self.assertEqual(self.status.phase, "starting")
        waiting.callback(None)
        self.assertEqual(order, ["first", "second"])
        self.assertEqual(self.status.phase, "running")
        self.assertEqual(len(started), 1)
        self.assertFalse(self.reactor.stopped)

    def test_known_failure_is_one_line_and_stops(self):
        """A known error logs one critical line, stops the reactor and exits non-zero after."""

        async def broken():
            raise StartupError("L1 at http://127.0.0.1:1 does not answer")

        self.launcher([("L1", broken)])
        self.assertEqual(self.status.phase, "failed")
        self.assertTrue(self.reactor.stopped)
        critical = [e for e in self.events if e.get("log_level") == LogLevel.critical]
        self.assertEqual(len(critical), 1)
        self.assertNotIn("log_failure", critical[0])
        self.assertEqual(critical[0]["reason"], "L1 at http://127.0.0.1:1 does not answer")
        triggers = self.reactor.triggers["after"]["shutdown"]
        self.assertEqual(len(triggers), 1)
        triggers[0][0]()
        self.assertEqual(self.exits, [1])

    def test_unexpected_failure_logs_traceback(self):
        """An unexpected error is logged with its traceback, and still stops the node."""

        async def broken():
            raise ZeroDivisionError("oops")

        self.launcher([("maths", broken)])
        failures = [e for e in self.events if "log_failure" in e]
        self.assertEqual(len(failures), 1)
        self.assertTrue(self.reactor.stopped)
        self.flushLoggedErrors(ZeroDivisionError)

    def test_stop_during_start(self):
        """Stopping while a step waits abandons the remaining steps."""
        waiting = defer.Deferred()
        ran = []

        async def slow():
            await waiting

        async def after():
            ran.append(True)

        launcher = self.launcher([("slow", slow), ("after", after)])
        launcher.stopService()
        waiting.callback(None)
        self.assertEqual(ran, [])
        self.assertEqual(self.status.phase, "stopping")
