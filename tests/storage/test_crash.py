"""kill -9 at random moments: every block reported committed survives, nothing partial shows.

A child process (``tests.storage.crash_writer``) writes blocks in a loop to a real LMDB data
directory and prints each block number after its commit returned; this test kills it with
SIGKILL at random moments (sometimes while it is still opening the storage), at least
``KILLS`` times, reopening the same directory each time. After each kill the storage must open,
hold every reported block completely (all parts, content hashes checked against the WAL digest),
and show nothing of any later block in any database.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time

from twisted.python import log
from twisted.trial.unittest import TestCase

from tests.fixtures import REPO_ROOT
from tests.storage.blocks import MANIFEST_KEY, check_block, make_block, tree_node_key
from zkos_tw.storage import LMDBStorage
from zkos_tw.storage import codecs as c

KILLS = 22
#: Seconds the child runs (after it is ready) before the kill, drawn uniformly.
RUN_TIME = (0.0, 0.3)
#: How often the kill comes before the child said it is ready (during start-up and open).
EARLY_KILL_RATE = 0.2
#: Blocks checked completely per round besides the new ones (all of them at the end).
SAMPLE = 40


class CrashTests(TestCase):
    """LMDB storage under SIGKILL."""

    def setUp(self):
        self.path = os.path.abspath(self.mktemp())
        self.addCleanup(shutil.rmtree, self.path, True)
        seed = int.from_bytes(os.urandom(4), "big")
        self.rng = random.Random(seed)
        self.seed = seed

    def run_child(self) -> tuple[list[int], bool]:
        """Start the writer, kill it at a random moment; return the block numbers it reported
        and whether it was killed before it said it was ready."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.crash_writer", self.path],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            early = self.rng.random() < EARLY_KILL_RATE
            head = b""
            if early:
                time.sleep(self.rng.uniform(0.0, 0.15))
            else:
                head = proc.stdout.readline()
                self.assertTrue(head.startswith(b"ready"), f"child did not start: {head!r}")
                time.sleep(self.rng.uniform(*RUN_TIME))
            os.kill(proc.pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(
            proc.returncode, -signal.SIGKILL, f"the writer died on its own: {err.decode()[-2000:]}"
        )
        lines = (head + out).split(b"\n")[:-1]  # a last line without newline was not reported
        return [int(line) for line in lines if not line.startswith(b"ready")], early

    def check_storage(self, reported: int, checked: int) -> int:
        """Open the storage and check it after a kill; return its last block."""
        storage = LMDBStorage(self.path, map_size=256 * 1024)
        try:
            last = storage.last_block()
            if reported < 0:
                # nothing reported: at most block 0 was committed unreported
                self.assertIn(last, (None, 0))
                if last is None:
                    return -1
            else:
                self.assertTrue(
                    reported <= last <= reported + 1,
                    f"last block {last}, reported {reported} (seed {self.seed})",
                )
            self.assertEqual(set(storage.last_blocks().values()), {last})
            self.assertEqual(storage.first_block(), 0)
            new = range(checked + 1, last + 1)
            old = range(0, checked + 1)
            for number in list(new) + self.rng.sample(old, min(SAMPLE, len(old))):
                check_block(storage, number)
            self.check_nothing_after(storage, last)
            return last
        finally:
            storage.close()

    def check_nothing_after(self, storage: LMDBStorage, last: int) -> None:
        """No database shows anything of a block after ``last``."""
        following = make_block(last + 1)
        self.assertIsNone(storage.wal_record(last + 1))
        self.assertIsNone(storage.block(last + 1))
        self.assertIsNone(storage.logs(last + 1))
        self.assertIsNone(storage.block_number_by_hash(following.block_hash))
        for tx in following.transactions:
            self.assertIsNone(storage.tx_location(tx.tx_hash))
            self.assertIsNone(storage.transaction(tx.tx_hash))
            self.assertIsNone(storage.receipt(tx.tx_hash))
        for digest, _ in following.preimages:
            self.assertIsNone(storage.preimage(digest))
        for i in range(3):
            self.assertIsNone(storage.tree_node(tree_node_key(last + 1, i)))
        self.assertEqual(storage.tree_node(MANIFEST_KEY), struct.pack(">Q", last))
        wal = list(storage.raw_items(c.WAL_DB))
        self.assertEqual([c.key_block(k) for k, _ in wal], list(range(last + 1)))
        for key, _ in storage.raw_items(c.STATE_DB):
            self.assertLessEqual(c.key_block(key[32:]), last, f"state entry 0x{key.hex()}")
        for key, _ in storage.raw_items(c.ADDRESS_INDEX_DB):
            if key.startswith(c.INDEX_APPEARANCE):
                self.assertLessEqual(
                    c.key_block(key[21:29]), last, "an index entry of a later block"
                )
        for _, raw in storage.raw_items(c.PREIMAGES_DB):
            number = struct.unpack(">Q", c.decode_envelope(raw)[3:11])[0]
            self.assertLessEqual(number, last, "a preimage of a later block")

    def test_kill_9_at_random_moments(self):
        """22 SIGKILLs at random moments lose no reported block and expose no partial one."""
        started = time.monotonic()
        reported, checked, early_kills = -1, -1, 0
        for _ in range(KILLS):
            numbers, early = self.run_child()
            early_kills += early
            if numbers:
                self.assertEqual(numbers, list(range(numbers[0], numbers[-1] + 1)))
                # The next writer never rewrites a block the last check saw. It may start a few
                # blocks after it: a writer killed after its commit reached the data file but
                # before LMDB's shared lock table said so leaves those blocks visible to the next
                # opener first (seen under CI load, up to two blocks, never alone). That skips
                # nothing: check_storage asserts after every kill that the WAL is gapless from
                # block 0, nothing reported is lost and nothing partial is shown.
                self.assertGreater(numbers[0], checked)
                reported = max(reported, numbers[-1])
            checked = self.check_storage(reported, checked)
        self.assertGreater(reported, KILLS, "the writer hardly wrote anything")
        storage = LMDBStorage(self.path, map_size=256 * 1024)
        try:
            for number in range(storage.last_block() + 1):
                check_block(storage, number)
            size = storage.map_size()
        finally:
            storage.close()
        log.msg(
            f"crash test: {KILLS} kills ({early_kills} during start-up), {checked + 1} blocks "
            f"all verified, map grew from 262144 to {size} bytes, {time.monotonic() - started:.1f} s, "
            f"seed {self.seed}"
        )
