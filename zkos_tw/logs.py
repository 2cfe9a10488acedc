"""Log observers for ``log_format``: terminal text (twistd's own), JSON lines, or logfmt.

The node sets the chosen observer as the application's ``ILogObserver`` component, which twistd
uses instead of its default text observer (unless ``twistd --logger`` names another).
"""

from __future__ import annotations

import sys
from typing import IO

from twisted.logger import (
    FileLogObserver,
    ILogObserver,
    LogLevel,
    formatEvent,
    formatTime,
    jsonFileLogObserver,
)

_COLOURS = {
    LogLevel.debug: "\x1b[2m",
    LogLevel.info: "",
    LogLevel.warn: "\x1b[33m",
    LogLevel.error: "\x1b[31m",
    LogLevel.critical: "\x1b[1;31m",
}


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text and all(c not in text for c in ' ="\n\t'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def format_logfmt(event: dict) -> str:
    """One logfmt line: ``ts=... level=info system=... msg="..."``."""
    level = event.get("log_level")
    fields = [
        ("ts", formatTime(event.get("log_time"), timeFormat="%Y-%m-%dT%H:%M:%S.%f%z")),
        ("level", level.name if level is not None else "info"),
        ("system", event.get("log_namespace", "-")),
        ("msg", formatEvent(event)),
    ]
    failure = event.get("log_failure")
    if failure is not None:
        fields.append(("error", failure.getErrorMessage()))
    return " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields) + "\n"


def format_terminal_colour(event: dict) -> str:
    """A twistd-style text line with the level in colour."""
    level = event.get("log_level") or LogLevel.info
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text = text + "\n" + failure.getTraceback()
    when = formatTime(event.get("log_time"), timeFormat="%Y-%m-%dT%H:%M:%S%z")
    colour = _COLOURS.get(level, "")
    reset = "\x1b[0m" if colour else ""
    return f"{when} [{event.get('log_namespace', '-')}] {colour}{level.name}{reset} {text}\n"


def observer_for(log_format: str, use_color: bool, stream: IO[str] | None = None):
    """The ``ILogObserver`` for a format, or ``None`` to keep twistd's default text observer."""
    stream = sys.stdout if stream is None else stream
    if log_format == "json":
        return jsonFileLogObserver(stream, recordSeparator="")
    if log_format == "logfmt":
        return FileLogObserver(stream, format_logfmt)
    if use_color and hasattr(stream, "isatty") and stream.isatty():
        return FileLogObserver(stream, format_terminal_colour)
    return None


__all__ = ["observer_for", "format_logfmt", "format_terminal_colour", "ILogObserver"]
