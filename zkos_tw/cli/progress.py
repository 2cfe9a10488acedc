"""A one-line progress display for long ``zkosctl`` runs: files done/total, rate and ETA.

It draws only on a terminal (the stream's ``isatty()``) and not when the caller asks for quiet
(``--json``), so piped or machine-read output never carries it. The line is redrawn in place
(``\\r`` and erase-to-end-of-line) at most every ``min_interval`` seconds and erased by
``close()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

ERASE = "\r\x1b[K"


def format_seconds(seconds: float) -> str:
    """``42s``, ``3m07s`` or ``1h02m``."""
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Counts finished items and redraws one status line on ``stream`` when ``enabled``."""

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        unit: str = "files",
        clock: Callable[[], float] = time.monotonic,
        min_interval: float = 0.2,
    ):
        self.stream = stream
        self.enabled = enabled
        self.unit = unit
        self.clock = clock
        self.min_interval = min_interval
        self.total: int | None = None
        self.done = 0
        self.started = clock()
        self._drawn_at: float | None = None
        self._on_screen = False

    @classmethod
    def for_stream(cls, stream: TextIO, *, quiet: bool = False, **kwargs) -> Progress:
        """Enabled only when ``stream`` is a terminal and ``quiet`` is false."""
        isatty = getattr(stream, "isatty", None)
        return cls(stream, enabled=not quiet and bool(isatty and isatty()), **kwargs)

    def set_total(self, total: int) -> None:
        """The number of items the run will finish, once it is known."""
        self.total = total
        self._draw(force=True)

    def advance(self, count: int = 1) -> None:
        """``count`` more items finished."""
        self.done += count
        self._draw(force=self.done == self.total)

    def line(self) -> str:
        """The status text: ``done/total unit, rate unit/s, ETA`` (what is known so far)."""
        elapsed = self.clock() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        count = f"{self.done}" if self.total is None else f"{self.done}/{self.total}"
        parts = [f"{count} {self.unit}", f"{rate:.1f} {self.unit}/s"]
        if self.total is not None and rate > 0:
            parts.append(f"ETA {format_seconds(max(self.total - self.done, 0) / rate)}")
        return ", ".join(parts)

    def clear(self) -> None:
        """Erase the status line (before other output to the same terminal, and at the end);
        the next ``advance`` draws it again."""
        if self.enabled and self._on_screen:
            self.stream.write(ERASE)
            self.stream.flush()
            self._on_screen = False

    close = clear

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self.clock()
        recent = self._drawn_at is not None and now - self._drawn_at < self.min_interval
        if recent and self._on_screen and not force:
            return
        self._drawn_at = now
        self._on_screen = True
        self.stream.write(ERASE + self.line())
        self.stream.flush()


class Waiting:
    """A one-line waiting state (``waiting for the L2 receipt of 0x…, 3s``) on a terminal.

    Same rules as ``Progress``: drawn only on a terminal and not when quiet, redrawn at most
    every ``min_interval`` seconds (at once when the text changes), erased by ``clear()``.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        clock: Callable[[], float] = time.monotonic,
        min_interval: float = 0.2,
    ):
        self.stream = stream
        self.enabled = enabled
        self.clock = clock
        self.min_interval = min_interval
        self._text: str | None = None
        self._drawn_at: float | None = None
        self._on_screen = False

    @classmethod
    def for_stream(cls, stream: TextIO, *, quiet: bool = False, **kwargs) -> Waiting:
        """Enabled only when ``stream`` is a terminal and ``quiet`` is false."""
        isatty = getattr(stream, "isatty", None)
        return cls(stream, enabled=not quiet and bool(isatty and isatty()), **kwargs)

    def update(self, text: str, since: float) -> None:
        """Show ``text`` with the time waited since ``since`` (a ``clock`` reading)."""
        if not self.enabled:
            return
        now = self.clock()
        recent = self._drawn_at is not None and now - self._drawn_at < self.min_interval
        if recent and self._on_screen and text == self._text:
            return
        self._text, self._drawn_at, self._on_screen = text, now, True
        self.stream.write(f"{ERASE}{text}, {format_seconds(now - since)}")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled and self._on_screen:
            self.stream.write(ERASE)
            self.stream.flush()
            self._on_screen = False
