"""Parsers for configuration values: each takes the raw text and returns a typed value.

A parser raises ``ValueError`` whose message says what was expected; ``zkos_tw.config`` turns it
into one line naming the variable. Durations follow smart-config's tolerant form (``100ms``,
``1s``, ``15 min``); listen and connect addresses accept ``host:port`` (the reference's form) or
a Twisted endpoint string (``tcp:3050:interface=127.0.0.1``, ``ssl:...``, ``unix:...``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_DURATION_UNITS = {
    "ms": 0.001,
    "millis": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")
_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX_KEY = re.compile(r"^0x[0-9a-fA-F]{64}$")
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.\-]*):(?P<port>\d{1,5})$")
# Endpoint types we accept in an endpoint string; others are registered by plugins later.
ENDPOINT_TYPES = ("tcp", "tcp6", "ssl", "unix", "tls", "nacl")


def duration(text: str) -> float:
    """A duration in seconds from ``100ms``, ``1s``, ``1.5 s``, ``15 min``, ``2 hours``."""
    match = _DURATION.match(text)
    unit = match and _DURATION_UNITS.get(match.group(2).lower())
    if not unit:
        raise ValueError("a duration with a unit, such as 100ms, 1s or 15 min")
    return float(match.group(1)) * unit


def non_negative_int(text: str) -> int:
    """A whole number >= 0 (underscores allowed as in ``100_000_000``)."""
    try:
        value = int(text.strip().replace("_", ""), 10)
    except ValueError:
        raise ValueError("a whole number such as 1000") from None
    if value < 0:
        raise ValueError("a whole number >= 0")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    value = non_negative_int(text)
    if value < 1:
        raise ValueError("a whole number >= 1")
    return value


def port(text: str) -> int:
    """A TCP port number, 1..65535."""
    value = non_negative_int(text)
    if not 1 <= value <= 65535:
        raise ValueError("a TCP port number between 1 and 65535")
    return value


def boolean(text: str) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``)."""
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError("true or false")


def text(value: str) -> str:
    """Any non-empty text."""
    if not value.strip():
        raise ValueError("a non-empty value")
    return value.strip()


def url(value: str) -> str:
    """An http(s) or ws(s) URL with a host."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise ValueError("a URL such as http://localhost:8545")
    try:
        parts.port  # noqa: B018 - validates the port number
    except ValueError:
        raise ValueError("a URL with a valid port, such as http://localhost:8545") from None
    return value.strip()


def address(value: str) -> str:
    """A 20-byte hex address ``0x…`` (returned lower-case)."""
    if not _HEX_ADDRESS.match(value.strip()):
        raise ValueError("a 20-byte hex address such as 0x36615Cf349d7F6344891B1e7CA7C72883F5dc049")
    return value.strip().lower()


def address_list(value: str) -> tuple[str, ...]:
    """Comma-separated 20-byte hex addresses (lower-case, in the given order; may be empty)."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    try:
        return tuple(address(item) for item in items)
    except ValueError:
        raise ValueError("comma-separated hex addresses such as 0x36615Cf3…c049,0x…") from None


def private_key(value: str) -> str:
    """A 32-byte hex private key ``0x…``."""
    if not _HEX_KEY.match(value.strip()):
        raise ValueError("a 32-byte hex private key (0x followed by 64 hex digits)")
    return value.strip().lower()


def one_of(*choices: str):
    """A parser accepting exactly one of ``choices`` (case-insensitive; canonical case kept)."""
    canonical = {choice.lower(): choice for choice in choices}

    def parse(value: str) -> str:
        try:
            return canonical[value.strip().lower()]
        except KeyError:
            raise ValueError("one of " + ", ".join(choices)) from None

    parse.__doc__ = "One of: " + ", ".join(choices) + "."
    return parse


def _endpoint_type(value: str) -> str | None:
    head = value.split(":", 1)[0].lower()
    return head if head in ENDPOINT_TYPES else None


def listen_address(value: str) -> str:
    """Where to listen: ``host:port`` (``0.0.0.0:3050``) or a Twisted server endpoint string.

    Returns a server endpoint description for ``serverFromString``.
    """
    value = value.strip()
    if _endpoint_type(value):
        return value
    match = _HOST_PORT.match(value)
    if not match:
        raise ValueError("host:port such as 0.0.0.0:3050, or an endpoint such as tcp:3050")
    number = port(match.group("port"))
    host = match.group("host").strip("[]")
    if not host:
        return f"tcp:{number}"
    kind = "tcp6" if ":" in host else "tcp"
    return f"{kind}:{number}:interface={host.replace(':', chr(92) + ':')}"


def connect_address(value: str) -> str:
    """Where to connect: ``host:port`` (``localhost:3053``) or a Twisted client endpoint string.

    Returns a client endpoint description for ``clientFromString``.
    """
    value = value.strip()
    if _endpoint_type(value):
        return value
    match = _HOST_PORT.match(value)
    if not match or not match.group("host"):
        raise ValueError(
            "host:port such as localhost:3053, or an endpoint such as tcp:host=h:port=p"
        )
    number = port(match.group("port"))
    host = match.group("host").strip("[]").replace(":", chr(92) + ":")
    return f"tcp:host={host}:port={number}"


def listen_port(description: str) -> int | None:
    """The TCP port of a server endpoint description made by ``listen_address`` (else None)."""
    parts = description.split(":")
    if parts[0] in ("tcp", "tcp6", "ssl") and len(parts) > 1:
        first = parts[1]
        if first.isdigit():
            return int(first)
        for part in parts[1:]:
            if part.startswith("port="):
                return int(part[len("port=") :])
    return None
