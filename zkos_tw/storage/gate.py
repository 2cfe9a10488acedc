"""A shared/exclusive gate: many readers and the writer at once, or one map resize alone.

LMDB may only change its map size while this process has no transaction open, and py-lmdb
invalidates every open transaction when it does. Every transaction therefore runs inside
``shared()``; a resize runs inside ``exclusive()``, which waits until no transaction is open and
holds new ones back until it is done. Resizes are rare (the map doubles each time), so the cost
is two uncontended lock round-trips per transaction.

A waiting resize has priority: new transactions wait behind it. Without that, a thread that
opens read transactions in a tight loop can starve the resize for minutes (seen in the test
suite: a 1.6 s test took 469 s under load). Shared entry does not nest.
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
        self._waiting = 0  # resizes waiting for the open transactions to end

    def enter(self) -> None:
        """Enter shared: wait while a resize runs or waits to run."""
        with self._cond:
            while self._exclusive or self._waiting:
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
            self._waiting += 1
            try:
                while self._exclusive or self._active:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()
