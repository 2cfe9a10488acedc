"""A shared/exclusive gate: many readers and the writer at once, or one map resize alone.

LMDB may only change its map size while this process has no transaction open, and py-lmdb
invalidates every open transaction when it does. Every transaction therefore runs inside
``shared()``; a resize runs inside ``exclusive()``, which waits until no transaction is open and
holds new ones back until it is done. Resizes are rare (the map doubles each time), so the cost
is two uncontended lock round-trips per transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Gate:
    """Shared entry for transactions, exclusive entry for map resizes (see the module docstring)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._exclusive = False

    def enter(self) -> None:
        """Enter shared: wait while a resize runs."""
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._active += 1

    def leave(self) -> None:
        """Leave shared."""
        with self._cond:
            self._active -= 1
            if not self._active:
                self._cond.notify_all()

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Hold shared entry for the body (one transaction)."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold exclusive entry for the body: no transaction is open in this process meanwhile.

        The caller must not hold shared entry itself (that would wait forever).
        """
        with self._cond:
            while self._exclusive or self._active:
                self._cond.wait()
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()
