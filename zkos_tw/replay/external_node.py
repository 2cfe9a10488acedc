"""``ExternalNodeFollower``: turns the main node's replay stream into our own blocks.

Each record from the replay client (``zkos_tw.replay.client``) goes through three checks and the
sequencer's ``Replay`` path (reference §4.5):

1. every L1 transaction in it equals the next one our own L1 watcher read
   (``L1TransactionCheck``; waits for the watcher);
2. its ``previous_block_timestamp`` equals our newest block's timestamp;
3. ``Sequencer.replay_block`` re-executes it with the recorded context and compares the
   ``block_output_hash`` (and the parent hashes, the priority id, the chain id).

A failed check is a divergence: the follower stops taking records, writes a block dump to
``sequencer_block_dump_path``, reports ``replay: ...`` on ``/status/health``, logs one line —
``divergence at block N: <field> differs: <why> (dump: <path>)`` — and stops the node with exit
status 1. The stream itself failing for good (a corrupt frame, a refusal) stops the node the same
way without a dump: crash-only, as in the reference, so a supervisor restarts it.
"""

from __future__ import annotations

import os
import sys

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger

from zkos_tw.replay.block_dump import write_block_dump
from zkos_tw.replay.l1_check import L1TransactionCheck
from zkos_tw.sequencer.commands import ReplayDivergence
from zkos_tw.sequencer.wal import ReplayRecord

log = Logger()


def _exit_nonzero() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


class ExternalNodeFollower(Service):
    """Replays records into ``sequencer`` after the checks above; see the module docstring.

    ``last_block_at`` (reactor seconds) is when the last record was stored, for the stall
    watchdog; ``diverged`` is the one-line report once a divergence stopped following.
    """

    name = "en-follower"

    def __init__(
        self,
        reactor,
        sequencer,
        l1_queue,
        status,
        dump_path: str,
        *,
        _exit=_exit_nonzero,
    ):
        self._reactor = reactor
        self._sequencer = sequencer
        self._l1_check = L1TransactionCheck(l1_queue)
        self._status = status
        self._dump_path = dump_path
        self._exit = _exit
        self.last_block_at = reactor.seconds()
        self.blocks_replayed = 0
        self.diverged: str | None = None
        self._stopping = False

    def tip(self) -> int:
        """Our newest block."""
        return self._sequencer.tip.number

    def on_record(self, record: ReplayRecord) -> defer.Deferred:
        """The replay client's callback: fires once ``record`` is stored (or fails)."""
        return defer.ensureDeferred(self._replay(record))

    async def _replay(self, record: ReplayRecord) -> None:
        if self.diverged is not None:
            raise ReplayDivergence(self.diverged)
        try:
            if not record.transactions:
                # only the synthetic genesis record is empty, and it is never streamed; the
                # sequencer would store nothing and the block would be skipped (§4.5: refuse)
                raise ReplayDivergence(
                    f"block {record.context.number}: the record has no transactions",
                    "transactions",
                )
            await self._l1_check.check(record)
            ours = self._sequencer.tip.timestamp
            if record.previous_block_timestamp != ours:
                raise ReplayDivergence(
                    f"block {record.context.number}: previous_block_timestamp "
                    f"{record.previous_block_timestamp}, our block {self.tip()} has {ours}",
                    "previous_block_timestamp",
                )
            block = await self._sequencer.replay_block(record)
        except ReplayDivergence as e:
            self.divergence(record, e)
            raise
        if block is not None:
            self.last_block_at = self._reactor.seconds()
            self.blocks_replayed += 1

    def divergence(self, record: ReplayRecord, error: ReplayDivergence) -> str:
        """Stop following after ``error``: dump, health problem, one line, exit status 1."""
        number = record.context.number
        field = getattr(error, "field", "block")
        try:
            where = write_block_dump(
                self._dump_path, record, field, str(error), self._reactor.seconds()
            )
        except OSError as e:
            where = f"not written: {e}"
        why = str(error).removeprefix(f"block {number}: ")  # the line names the block already
        line = f"divergence at block {number}: {field} differs: {why} (dump: {where})"
        self.diverged = line
        self._status.set_problem("replay", line)
        log.critical("{line}", line=line)
        self._stop_node()
        return line

    def stream_failed(self, failure) -> None:
        """The replay client's ``failed``: the stream cannot go on; stop (exit status 1)."""
        if self.diverged is None:
            self._status.set_problem("replay", failure.getErrorMessage())
            log.critical("stopping: the replay stream failed: {error}", error=str(failure.value))
        self._stop_node()

    def _stop_node(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._status.set_phase("failed")
        if self._reactor.running:
            self._reactor.addSystemEventTrigger("after", "shutdown", self._exit)
            self._reactor.stop()
