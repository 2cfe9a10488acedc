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

It also relays between workers: a ``FILTER_CALL`` for a filter another worker installed goes
to that worker's link, and its ``FILTER_RESULT`` back to the asker (``filter not found`` when
that worker is not linked, or its link closes first). Each worker's ``METRICS`` frames are kept
(the last one per worker) and exported by ``WorkerMetricsCollector`` on the node's registry.

The sequencer never waits on a worker: every write is a non-blocking transport write, and a
worker that sends a frame it cannot read is disconnected (its supervisor restarts it).
"""

from __future__ import annotations

import itertools

from twisted.internet import defer
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from zkos_tw.sequencer.mempool_validation import PooledTransaction
from zkos_tw.workers import frames as f

log = Logger()

#: The answer to a call on a filter whose worker is not linked (as ``FilterRegistry`` says).
_NOT_FOUND = {"code": -32603, "message": "filter not found"}


_INTERNAL = "Internal error"


def _pooled(item: f.Submission) -> PooledTransaction:
    """The pool's record of a decoded submission (``decode_submit`` sets ``item.tx``)."""
    return PooledTransaction(item.tx, item.tx_hash, item.sender, 0)


class GatewayProtocol(Protocol):
    """One worker's link, on the sequencer's side."""

    def __init__(self, gateway: SequencerGateway, name: str, index: int | None = None):
        self._gateway = gateway
        self.name = name
        self.index = index
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
        # Relayed filter calls: our request id -> (asking link, its request id, answering link).
        self._relayed: dict[int, tuple[GatewayProtocol, int, GatewayProtocol]] = {}
        self._relay_ids = itertools.count(1)
        #: worker index -> the body of its last ``METRICS`` frame (decoded when scraped).
        self.worker_metrics: dict[int, bytes] = {}

    # -- links --------------------------------------------------------------------------------

    def factory(self, name: str, index: int | None = None) -> Factory:
        """A factory for the link of worker ``index`` (``adoptStreamConnection``)."""
        return Factory.forProtocol(lambda: GatewayProtocol(self, name, index))

    def attach(self, link: GatewayProtocol) -> None:
        self.links.append(link)

    def detach(self, link: GatewayProtocol) -> None:
        if link in self.links:
            self.links.remove(link)
        self._watch_pending_changed()
        if link.index is not None and not any(x.index == link.index for x in self.links):
            self.worker_metrics.pop(link.index, None)
        for request, (asker, asked_request, answerer) in list(self._relayed.items()):
            if answerer is link:
                del self._relayed[request]
                asker.send(f.encode_filter_result(asked_request, False, _NOT_FOUND))
            elif asker is link:
                del self._relayed[request]

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
        elif kind == f.FILTER_CALL:
            self._relay_filter_call(link, *f.decode_filter_call(body))
        elif kind == f.FILTER_RESULT:
            self._relay_filter_result(link, body)
        elif kind == f.METRICS:
            if link.index is not None:
                self.worker_metrics[link.index] = body
        else:
            raise f.FrameError(f"unexpected frame kind {kind} from a worker")

    def _relay_filter_call(
        self, link: GatewayProtocol, request: int, worker: int, call: int, filter_id: str
    ) -> None:
        target = next((x for x in self.links if x.index == worker), None)
        if target is None or target is link:
            link.send(f.encode_filter_result(request, False, _NOT_FOUND))
            return
        ours = next(self._relay_ids) & 0xFFFFFFFF
        self._relayed[ours] = (link, request, target)
        asker = 0xFFFF if link.index is None else link.index
        target.send(f.encode_filter_call(ours, asker, call, filter_id))

    def _relay_filter_result(self, link: GatewayProtocol, body: bytes) -> None:
        ours = f.filter_result_request(body)
        entry = self._relayed.pop(ours, None)
        if entry is None or entry[2] is not link:
            raise f.FrameError(f"FILTER_RESULT for unknown request {ours}")
        asker, request, _ = entry
        # Relayed as it came (no JSON decoding here), under the asker's request id.
        asker.send(f.readdress_filter_result(body, request))

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
