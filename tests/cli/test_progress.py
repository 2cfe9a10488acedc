"""``zkos_tw.cli.progress``: the status line's text, when it draws, and its use by statetest."""

from __future__ import annotations

import io
import os
import sys
import tarfile

from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import fixture_path
from zkos_tw.cli import main as cli_main
from zkos_tw.cli.progress import ERASE, Progress, format_seconds


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TTY(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self):
        return True


class ProgressTests(SynchronousTestCase):
    """Text, throttling and quietness."""

    def make(self, stream=None, **kwargs):
        self.clock = FakeClock()
        self.stream = TTY() if stream is None else stream
        return Progress.for_stream(self.stream, clock=self.clock, **kwargs)

    def test_format_seconds(self):
        """Seconds, minutes with seconds, hours with minutes."""
        self.assertEqual(
            [format_seconds(s) for s in (0, 42.4, 187, 3720)], ["0s", "42s", "3m07s", "1h02m"]
        )

    def test_line_with_total_rate_and_eta(self):
        """Done/total, the rate so far and the time left at that rate."""
        progress = self.make()
        progress.set_total(10)
        self.clock.now += 4
        progress.advance(2)
        self.assertEqual(progress.line(), "2/10 files, 0.5 files/s, ETA 16s")
        self.assertTrue(self.stream.getvalue().endswith(ERASE + "2/10 files, 0.5 files/s, ETA 16s"))

    def test_line_before_total_is_known(self):
        """Without a total there is no ETA."""
        progress = self.make()
        self.clock.now += 2
        progress.advance()
        self.assertEqual(progress.line(), "1 files, 0.5 files/s")

    def test_throttled_redraw(self):
        """Within ``min_interval`` an advance counts but does not redraw; the last item does."""
        progress = self.make(min_interval=1.0)
        progress.set_total(3)
        progress.advance()
        drawn = self.stream.getvalue()
        self.clock.now += 0.5
        progress.advance()
        self.assertEqual(self.stream.getvalue(), drawn)
        progress.advance()
        self.assertTrue(self.stream.getvalue().endswith("3/3 files, 6.0 files/s, ETA 0s"))

    def test_clear_erases_and_next_advance_redraws(self):
        """``clear`` erases the line once; the next advance draws it at once."""
        progress = self.make(min_interval=10.0)
        progress.set_total(5)
        progress.clear()
        progress.clear()
        # One ERASE starts the drawn line, one erases it; the second clear writes nothing.
        self.assertTrue(self.stream.getvalue().endswith(progress.line() + ERASE))
        self.assertEqual(self.stream.getvalue().count(ERASE), 2)
        progress.advance()
        self.assertTrue(self.stream.getvalue().endswith(ERASE + progress.line()))

    def test_quiet_when_not_a_terminal_or_asked(self):
        """A pipe or ``quiet=True`` gets nothing at all."""
        for progress in (self.make(io.StringIO()), self.make(quiet=True)):
            progress.set_total(2)
            progress.advance(2)
            progress.close()
            self.assertFalse(progress.enabled)
            self.assertEqual(self.stream.getvalue(), "")


class StatetestProgressTests(SynchronousTestCase):
    """statetest draws the line on a terminal stderr, not with ``--json``."""

    def setUp(self):
        archive = fixture_path("ethereum-tests", "GeneralStateTests.tgz")
        self.path = os.path.join(self.mktemp(), "add11.json")
        os.makedirs(os.path.dirname(self.path))
        with tarfile.open(archive, "r:gz") as tar:
            data = tar.extractfile("GeneralStateTests/stExample/add11.json").read()
        with open(self.path, "wb") as f:
            f.write(data)

    def run_with_tty_stderr(self, *argv):
        out, err = io.StringIO(), TTY()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        self.assertEqual(cli_main.main(["statetest", *argv]), 0)
        return out.getvalue(), err.getvalue()

    def test_progress_on_terminal(self):
        """The line shows 1/1 files and is erased at the end; stdout never carries it."""
        out, err = self.run_with_tty_stderr(self.path, "--failures-only")
        self.assertIn("1/1 files", err)
        self.assertTrue(err.endswith(ERASE))
        self.assertNotIn("files/s", out)

    def test_quiet_with_json(self):
        """``--json`` keeps stderr empty."""
        _, err = self.run_with_tty_stderr(self.path, "--json")
        self.assertEqual(err, "")
