"""The sequencer's end of the RPC worker links: admits what workers send, tells them of blocks.

Each worker process holds one stream to the sequencer process (a socketpair made by
``zkos_tw.workers.supervisor``). ``SequencerGateway`` serves them all:

* a ``SUBMIT`` batch is inserted into the mempool in order, in one ``Mempool.insert_batch``
  call, without decoding anything again (the worker recovered the sender, and the frame carries
  the decoded fields), and answered with one ``ANSWERS`` frame — with ``inclusion`` (``--dev``'s wait) once every admitted transaction's block is
  stored or its wait timed out;
* a ``QUERY`` is answered at once from the pool (pending nonce, pooled transactions);
* every stored block, and every move of L1's ``safe`` / ``finalized``, is pushed as ``HEAD``
  to every worker; pending transactions are pushed as ``PENDING`` to workers that asked.

The sequencer never waits on a worker: every write is a non-blocking transport write, and a
worker that sends a frame it cannot read is disconnected (its supervisor restarts it).
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from zkos_tw.sequencer.mempool_validation import PooledTransaction
from zkos_tw.workers import frames as f

log = Logger()


_INTERNAL = "Internal error"


def _pooled(item: f.Submission) -> PooledTransaction:
    """The pool's record of a decoded submission (``decode_submit`` sets ``item.tx``)."""
    return PooledTransaction(item.tx, item.tx_hash, item.sender, 0)


class GatewayProtocol(Protocol):
    """One worker's link, on the sequencer's side."""

    def __init__(self, gateway: SequencerGateway, name: str):
        self._gateway = gateway
        self.name = name
        self._reader = f.FrameReader()
        self.watching_pending = False

    def connectionMade(self):
        self._gateway.attach(self)
        self.send(self._gateway.head_frame())

    def connectionLost(self, reason):
        self._gateway.detach(self)

    def send(self, data: bytes) -> None:
        if self.transport is not None and self.connected:
            self.transport.write(data)

    def dataReceived(self, data):
        try:
            received = self._reader.feed(data)
            for kind, body in received:
                self._gateway.frame_received(self, kind, body)
        except (f.FrameError, ValueError, IndexError) as e:
            log.error(
                "RPC worker {name}: unreadable frame ({error}); dropping it",
                name=self.name,
                error=str(e),
            )
            self.transport.abortConnection()


class SequencerGateway:
    """Serves the worker links over ``mempool``; ``heads()`` gives the ``frames.Head`` now.

    ``inclusion`` is an ``InclusionWait`` (``--dev``) or ``None``.
    """

    def __init__(self, mempool, heads, *, inclusion=None):
        self._mempool = mempool
        self._heads = heads
        self._inclusion = inclusion
        self.links: list[GatewayProtocol] = []
        self._remove_pending = None

    # -- links --------------------------------------------------------------------------------

    def factory(self, name: str) -> Factory:
        """A factory for one worker's link (``adoptStreamConnection``)."""
        return Factory.forProtocol(lambda: GatewayProtocol(self, name))

    def attach(self, link: GatewayProtocol) -> None:
        self.links.append(link)

    def detach(self, link: GatewayProtocol) -> None:
        if link in self.links:
            self.links.remove(link)
        self._watch_pending_changed()

    def head_frame(self) -> bytes:
        return f.encode_head(self._heads())

    # -- pushes -------------------------------------------------------------------------------

    def block_stored(self, block=None) -> None:
        """A ``BlockSink`` listener (also a ``BatchProgress`` one): push ``HEAD`` to every link."""
        if not self.links:
            return
        data = self.head_frame()
        for link in list(self.links):
            link.send(data)

    def _pending(self, ptx) -> None:
        data = f.encode_pending(ptx.hash, ptx.sender, ptx.raw)
        for link in list(self.links):
            if link.watching_pending:
                link.send(data)

    def _watch_pending_changed(self) -> None:
        wanted = any(link.watching_pending for link in self.links)
        if wanted and self._remove_pending is None:
            self._remove_pending = self._mempool.add_pending_listener(self._pending)
        elif not wanted and self._remove_pending is not None:
            self._remove_pending()
            self._remove_pending = None

    # -- requests -----------------------------------------------------------------------------

    def frame_received(self, link: GatewayProtocol, kind: int, body: bytes) -> None:
        if kind == f.SUBMIT:
            request, items = f.decode_submit(body)
            self._submit(link, request, items)
        elif kind == f.QUERY:
            request, what, argument = f.decode_query(body)
            link.send(f.encode_reply(request, self._query(what, argument)))
        elif kind == f.WATCH_PENDING:
            link.watching_pending = body == b"\x01"
            self._watch_pending_changed()
        else:
            raise f.FrameError(f"unexpected frame kind {kind} from a worker")

    def admit(self, item: f.Submission) -> bytes:
        """Insert one transaction the worker prepared; its hash, or raises ``PoolError``."""
        return self._mempool.insert(_pooled(item))

    def _submit(self, link: GatewayProtocol, request: int, items: list) -> None:
        answers: list = []
        waits = []
        try:
            results = self._mempool.insert_batch([_pooled(item) for item in items])
        except Exception:  # noqa: BLE001 - answered, never raised into the link
            log.failure("admitting transactions from RPC worker {name}", name=link.name)
            results = [_INTERNAL] * len(items)
        for result in results:
            if isinstance(result, bytes):
                answers.append(result)
                if self._inclusion is not None:
                    waits.append(self._inclusion.wait(result))
            else:
                answers.append(str(result))
        if not waits:
            link.send(f.encode_answers(request, answers))
            return
        defer.gatherResults(waits).addBoth(lambda _: link.send(f.encode_answers(request, answers)))

    def _query(self, what: int, argument: bytes) -> bytes | None:
        pool = self._mempool
        if what == f.PENDING_NONCE:
            nonce = pool.pending_nonce(argument)
            return None if nonce is None else f.encode_u64(nonce)
        if what == f.POOLED:
            ptx = pool.get(argument)
        elif what == f.POOLED_BY_NONCE:
            ptx = pool.by_sender_and_nonce(argument[:20], f.decode_u64(argument[20:]))
        else:
            raise f.FrameError(f"unknown query {what}")
        return None if ptx is None else ptx.sender + ptx.raw
