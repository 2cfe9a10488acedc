"""The shared/exclusive gate that keeps transactions and map resizes apart, and LMDB reads from
another thread while the writer grows the map."""

from __future__ import annotations

import os
import threading

from twisted.trial.unittest import TestCase

from tests.storage.blocks import check_block, make_block
from zkos_tw.storage import LMDBStorage
from zkos_tw.storage.gate import Gate


class GateTests(TestCase):
    """``Gate``: many shared holders, or one exclusive holder."""

    def test_shared_holders_coexist(self):
        """Shared entries do not wait for each other."""
        gate = Gate()
        with gate.shared(), gate.shared():
            pass
        with gate.exclusive():
            pass

    def test_exclusive_waits_for_shared(self):
        """An exclusive entry waits until every shared holder has left."""
        gate = Gate()
        entered = threading.Event()
        gate.enter()

        def resize() -> None:
            with gate.exclusive():
                entered.set()

        thread = threading.Thread(target=resize)
        thread.start()
        self.assertFalse(entered.wait(0.05))
        gate.leave()
        self.assertTrue(entered.wait(10))
        thread.join(10)

    def test_shared_waits_for_exclusive(self):
        """A shared entry waits while an exclusive holder is inside."""
        gate = Gate()
        entered = threading.Event()
        with gate.exclusive():
            thread = threading.Thread(target=lambda: (gate.enter(), entered.set()))
            thread.start()
            self.assertFalse(entered.wait(0.05))
        self.assertTrue(entered.wait(10))
        thread.join(10)
        gate.leave()


class ConcurrentReadTests(TestCase):
    """Reads from another thread while the writer grows the map."""

    def test_reads_during_growth(self):
        """A reader thread reads every block while the writer doubles the map many times."""
        storage = LMDBStorage(os.path.abspath(self.mktemp()), map_size=64 * 1024)
        self.addCleanup(storage.close)
        storage.write_block(make_block(0))
        errors: list[BaseException] = []
        done = threading.Event()

        def read() -> None:
            try:
                while not done.is_set():
                    last = storage.last_block()
                    check_block(storage, last)
                    check_block(storage, last // 2)
            except BaseException as e:  # reported to the test below
                errors.append(e)

        thread = threading.Thread(target=read)
        thread.start()
        start_size = storage.map_size()
        try:
            for number in range(1, 80):
                storage.write_block(make_block(number))
        finally:
            done.set()
            thread.join(30)
        self.assertEqual(errors, [])
        self.assertGreaterEqual(storage.map_size(), 8 * start_size)
