"""``WorkerBackend``: the ``IRpcBackend`` of an RPC worker process.

Reads come straight from storage (the LMDB environment opened read-only; its readers take no
lock and see every block whose write committed), exactly as ``NodeBackend`` serves them in the
node process — it is a ``NodeBackend`` whose pool lives elsewhere:

* ``eth_sendRawTransaction`` decodes the transaction, recovers its sender and runs the
  stateless checks here, then hands ``(hash, sender, raw)`` to the sequencer over the link;
  the answer is the pool's (the same error texts as in one process); an external node's
  worker (``forward_transactions``) sends it to the main node instead and answers what the
  main node answered;
* pending nonces and pooled transactions are asked of the sequencer's pool over the link,
  then storage is read (a transaction leaves the pool only after its block was stored);
* ``HEAD`` pushes drive the block listeners (``eth_subscribe("newHeads")``, log and block
  filters) with the stored blocks, and carry the node's L1 batch progress (``safe`` /
  ``finalized`` and the ``zks_`` batch methods, over the batch store opened read-only);
* ``PENDING`` pushes drive pending-transaction listeners, asked for only while some exist.
"""

from __future__ import annotations

from types import SimpleNamespace

from zope.interface import implementer

from zkos_tw.execution.exceptions import InvalidTransaction, InvalidTransactionEncoding
from zkos_tw.execution.transactions import decode_transaction
from zkos_tw.hashing import keccak256
from zkos_tw.interfaces import IRpcBackend
from zkos_tw.rpc.errors import BackendError
from zkos_tw.sequencer.backend import NodeBackend
from zkos_tw.sequencer.mempool_errors import PoolError, TransactionDecodeError
from zkos_tw.sequencer.mempool_validation import check_stateless, decode_pooled
from zkos_tw.sequencer.rpc_shapes import header_object, transaction_object
from zkos_tw.workers.frames import Head, Submission


class HeadProgress:
    """The node's L1 batch progress as its last ``HEAD`` push carried it (what ``NodeBackend``
    and ``BatchQueries`` read of a ``BatchProgress``)."""

    def __init__(self, head: Head):
        self.last_committed_batch = head.committed_batch
        self.last_executed_batch = head.executed_batch
        self.last_committed_block = head.safe
        self.last_executed_block = head.finalized


class PendingFeed:
    """The pending transactions the sequencer pushes, for ``NodeBackend``'s pending listener."""

    def __init__(self):
        self._listeners: list = []

    def add_pending_listener(self, listener):
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def pushed(self, item: Submission) -> None:
        """A ``PENDING`` push: tell the listeners (``NodeBackend._pending``) of it."""
        ptx = SimpleNamespace(
            tx=decode_transaction(item.raw), sender=item.sender, hash=item.tx_hash
        )
        for listener in list(self._listeners):
            listener(ptx)


@implementer(IRpcBackend)
class WorkerBackend(NodeBackend):
    """``NodeBackend`` over read-only ``storage`` and the ``SequencerLink`` ``link``.

    ``block_gas_limit`` and ``max_input_bytes`` are the pool's stateless limits
    (``sequencer_block_gas_limit``, ``tx_validator_max_input_bytes``).
    """

    def __init__(
        self,
        *,
        storage,
        link,
        block_gas_limit: int,
        max_input_bytes: int,
        open_batch_store=None,
        **kwargs,
    ):
        self._feed = PendingFeed()
        super().__init__(chain=SimpleNamespace(storage=storage), mempool=self._feed, **kwargs)
        self._link = link
        self._block_gas_limit = block_gas_limit
        self._max_input_bytes = max_input_bytes
        # ``open_batch_store() -> IBatchStore | None``: the node's batch store, read-only, once
        # the node follows L1 batches (the zks_ batch methods).
        self._open_batch_store = open_batch_store
        self._notified = storage.last_block() or 0
        link.on_head = self.head_moved
        link.on_pending = self._feed.pushed

    # -- the sequencer's pushes ---------------------------------------------------------------

    def head_moved(self, head: Head) -> None:
        """A ``HEAD`` push: follow the node's L1 batch progress, tell block listeners of the
        new blocks."""
        if head.committed_batch is not None:
            self._batch_progress = HeadProgress(head)
            if self._batch_store is None and self._open_batch_store is not None:
                self._batch_store = self._open_batch_store()
        stored_last = self._storage.last_block() or 0
        while self._notified < min(head.latest, stored_last):
            self._notified += 1
            self._tell_block_listeners(self._notified)

    def _tell_block_listeners(self, number: int) -> None:
        if not self._block_listeners:
            return
        stored, header = self._header(number)
        if stored is None:
            return
        obj = header_object(stored.block_hash, header)
        logs = self._block_logs(number)
        for listener in list(self._block_listeners):
            listener(obj, logs)

    def add_pending_transaction_listener(self, listener):
        remove = super().add_pending_transaction_listener(listener)
        if len(self._pending_listeners) == 1:
            self._link.watch_pending(True)

        def remove_and_maybe_stop():
            remove()
            if not self._pending_listeners:
                self._link.watch_pending(False)

        return remove_and_maybe_stop

    # -- the pool, over the link --------------------------------------------------------------

    def _pooled(self, tx_hash: bytes):
        return None  # the pool is the sequencer's: asked over the link first

    def prepare(self, raw: bytes) -> Submission:
        """Decode, recover the sender and run the stateless checks (``Mempool.prepare``);
        raises the ``PoolError`` the pool would."""
        if not raw:
            raise TransactionDecodeError()
        tx_hash = keccak256(raw)
        ptx = decode_pooled(raw, tx_hash, 0)
        check_stateless(
            ptx,
            chain_id=self.chain_id,
            block_gas_limit=self._block_gas_limit,
            max_input_bytes=self._max_input_bytes,
        )
        return Submission(tx_hash, ptx.sender, raw, ptx.tx)

    def send_raw_transaction(self, raw: bytes):
        if self._forward is not None:
            # An external node's worker: the main node's answer, as the EN process gives it.
            return self._forward(raw)
        try:
            item = self.prepare(raw)
        except (PoolError, InvalidTransaction) as e:
            raise BackendError(str(e)) from None
        return self._link.submit(item)

    def pending_nonce(self, address: bytes):
        return self._link.pending_nonce(address)

    async def transaction_by_hash(self, tx_hash: bytes):
        pooled = await self._link.pooled(tx_hash)
        if pooled is not None:
            sender, raw = pooled
            return transaction_object(_decode(raw), sender, tx_hash)
        return self._stored_transaction_object(tx_hash)

    async def raw_transaction_by_hash(self, tx_hash: bytes):
        pooled = await self._link.pooled(tx_hash)
        if pooled is not None:
            return pooled[1]
        return self._storage.transaction(tx_hash)

    async def transaction_by_sender_and_nonce(self, sender: bytes, nonce: int):
        pooled = await self._link.pooled_by_nonce(sender, nonce)
        if pooled is not None:
            pooled_sender, raw = pooled
            return transaction_object(_decode(raw), pooled_sender, keccak256(raw))
        return self._mined_by_sender_and_nonce(sender, nonce)


def _decode(raw: bytes):
    try:
        return decode_transaction(raw)
    except InvalidTransactionEncoding:
        raise BackendError("transaction decode error") from None
