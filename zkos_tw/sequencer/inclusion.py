"""``InclusionWait``: hold an ``eth_sendRawTransaction`` answer until the transaction is stored.

A dev-mode aid (``rpc_send_raw_transaction_wait_timeout``, docs/rpc.md). The sequencer seals a
block only when it has transactions (reference §6.1), so on an idle dev chain no block follows
the one that holds a client's transaction. ethers v6's ``tx.wait()`` — receipt missing at its
first look — waits for the next "block" event of a poller whose first poll only records the
current number: when the transaction's block is already the newest then, the event never comes
and the wait never ends. Answering the submission once the transaction's block is stored (as
anvil's automine does) means every client finds the receipt at its first look.

The answer is the transaction hash either way: after ``timeout`` seconds without the block (the
transaction stays pooled, or block building dropped it) it is answered as §3.6 has it.
"""

from __future__ import annotations

from twisted.internet import defer


class InclusionWait:
    """Fire ``wait(tx_hash)`` Deferreds from ``block_stored`` (a ``BlockSink`` listener), or after
    ``timeout`` seconds on ``reactor`` (an ``IReactorTime``)."""

    def __init__(self, reactor, timeout: float):
        self._reactor = reactor
        self.timeout = timeout
        self._waiting: dict[bytes, list[tuple[defer.Deferred, object]]] = {}

    def wait(self, tx_hash: bytes) -> defer.Deferred:
        """A Deferred that fires with ``tx_hash`` once a stored block holds it, or at the timeout.

        Call it in the reactor turn in which the pool took the transaction: a block stored
        earlier than that cannot hold it.
        """
        done = defer.Deferred()
        timer = self._reactor.callLater(self.timeout, self._expire, tx_hash, done)
        self._waiting.setdefault(tx_hash, []).append((done, timer))
        return done

    def pending(self) -> int:
        """How many answers are held (for tests and metrics)."""
        return sum(len(waiters) for waiters in self._waiting.values())

    def block_stored(self, block) -> None:
        """Release the answers of ``block``'s transactions (a ``SealedBlock``)."""
        if not self._waiting:
            return
        for included in block.transactions:
            for done, timer in self._waiting.pop(included.tx_hash, ()):
                timer.cancel()
                done.callback(included.tx_hash)

    def _expire(self, tx_hash: bytes, done: defer.Deferred) -> None:
        waiters = self._waiting.get(tx_hash, [])
        self._waiting[tx_hash] = [(d, t) for d, t in waiters if d is not done]
        if not self._waiting[tx_hash]:
            del self._waiting[tx_hash]
        done.callback(tx_hash)
