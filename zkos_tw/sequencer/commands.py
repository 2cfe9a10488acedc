"""Block commands: where a block's context and transactions come from.

The sequencer runs every block through one code path (``Sequencer.execute``); only the source
differs (the reference's ``Produce`` / ``Replay`` commands, §1.3 and §4.5):

* ``Produce``: the main node builds the next block from the mempool. The context comes from the
  chain tip and the clock; transactions come from the pool's best-transactions iterator; a
  transaction the VM refuses is dropped from the pool; the block seals on the seal rules.
* ``Replay``: a block already sealed elsewhere (the WAL of the main node, the block stream of an
  external node, our own WAL) is executed again with its recorded context and transactions. Every
  transaction must be included, in order; the block seals when the list is exhausted, and the
  result must match the record's ``block_output_hash``. Anything else is a ``ReplayDivergence``.

A source hands out candidates in batches (``next_batch``) and hears what happened to each
(``rejected``, ``did_not_fit``). ``waits`` tells the sequencer whether an empty batch means "wait
for more until the block time is up" (Produce) or "the block is complete" (Replay).
"""

from __future__ import annotations

from dataclasses import dataclass

from zkos_tw.execution.l1_transactions import decode_envelope, is_l1_envelope
from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.sequencer.wal import ReplayRecord


class ReplayDivergence(Exception):
    """Re-executing a recorded block did not give the recorded result.

    ``field`` names the first record field that differs (``block_output_hash``,
    ``transactions[3]``, ...) for the external node's one-line divergence report.
    """

    def __init__(self, message: str, field: str = "block"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Candidate:
    """A transaction offered to the block: EIP-2718 bytes, decoded form, sender and hash."""

    raw: bytes
    tx: object  # zkos_tw.execution.transactions.Transaction
    sender: bytes
    hash: bytes


@dataclass(frozen=True)
class Produce:
    """Build the next block from the mempool."""


@dataclass(frozen=True)
class Replay:
    """Execute the recorded block ``record`` again, exactly."""

    record: ReplayRecord


def l1_candidate(tx) -> Candidate:
    """An L1 transaction (``L1Transaction``) as a block candidate."""
    return Candidate(tx.raw, tx, tx.initiator, tx.hash)


class MempoolSource:
    """Candidates for a produced block: the L1 transactions first, then the pool, best first.

    Refused pool transactions leave the pool. L1 transactions are never refused; one that does
    not fit the block waits for the next block, and so do the L1 transactions after it.
    """

    waits = True

    def __init__(self, mempool, base_fee: int, l1_transactions=()):
        self._mempool = mempool
        self._best = mempool.best_transactions(base_fee)
        self._l1 = [l1_candidate(tx) for tx in l1_transactions]

    def next_batch(self, size: int) -> list:
        batch, self._l1 = self._l1[:size], self._l1[size:]
        if len(batch) < size:
            batch += [ptx for _, ptx in zip(range(size - len(batch)), self._best, strict=False)]
        return batch

    def rejected(self, candidate, reason: str) -> None:
        if isinstance(candidate, Candidate):
            raise AssertionError(f"an L1 transaction was refused: {reason}")
        self._mempool.mark_invalid(candidate.hash, reason)

    def did_not_fit(self, candidate) -> None:
        if isinstance(candidate, Candidate):
            self._l1 = []
        else:
            self._best.skip(candidate)


class ReplaySource:
    """Candidates from a replay record, in the recorded order; every one must be included."""

    waits = False

    def __init__(self, record: ReplayRecord):
        self._number = record.context.number
        self._candidates = [
            self._decode(index, raw) for index, raw in enumerate(record.transactions)
        ]
        self._next = 0

    def _decode(self, index: int, raw: bytes) -> Candidate:
        try:
            if is_l1_envelope(raw):
                return l1_candidate(decode_envelope(raw))
            tx = decode_transaction(raw)
            sender = recover_sender(tx)
        except Exception as e:  # noqa: BLE001 - any decoding failure is a divergence
            raise ReplayDivergence(
                f"block {self._number}: transaction {index} cannot be decoded: {e}",
                f"transactions[{index}]",
            ) from None
        return Candidate(raw, tx, sender, tx.hash)

    def next_batch(self, size: int) -> list:
        batch = self._candidates[self._next : self._next + size]
        self._next += len(batch)
        return batch

    def _field(self, candidate) -> str:
        """``transactions[i]`` for the i-th candidate: the first differing field."""
        for index, ours in enumerate(self._candidates):
            if ours is candidate:
                return f"transactions[{index}]"
        return "transactions"

    def rejected(self, candidate, reason: str) -> None:
        raise ReplayDivergence(
            f"block {self._number}: transaction 0x{candidate.hash.hex()} was refused on replay: "
            f"{reason}",
            self._field(candidate),
        )

    def did_not_fit(self, candidate) -> None:
        raise ReplayDivergence(
            f"block {self._number}: transaction 0x{candidate.hash.hex()} does not fit the block "
            "on replay",
            self._field(candidate),
        )
