"""The worker's end of its link to the sequencer process: submissions, queries, pushes.

``SequencerLink`` is a protocol over the socketpair the supervisor passed in. Submissions made
in one reactor turn (a JSON-RPC batch arrives in one turn) go out as one ``SUBMIT`` frame; each
``submit`` returns a Deferred of the hash, or fails with ``BackendError`` carrying the pool's
error text. Queries (``pending_nonce``, ``pooled``, ``pooled_by_nonce``) return Deferreds too.
``HEAD`` and ``PENDING`` pushes go to ``on_head(frames.Head)`` and
``on_pending(Submission)``. When the link closes every waiting Deferred fails and
``on_lost()`` runs (the worker then stops: without the sequencer it has nothing to offer).

Filters across workers: ``filter_call(worker, call, filter_id)`` asks the worker that installed
a filter (through the node) and returns a Deferred of its result, or fails with its
``JsonRpcError``; a ``FILTER_CALL`` the node relays from another worker goes to
``on_filter_call(call, filter_id)`` (a value or a Deferred) and its outcome goes back as
``FILTER_RESULT``. ``send_metrics(families)`` sends a ``METRICS`` frame.
"""

from __future__ import annotations

import itertools

from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.logger import Logger

from zkos_tw.rpc.errors import INTERNAL_ERROR, BackendError, JsonRpcError
from zkos_tw.workers import frames as f

log = Logger()


class SequencerUnavailable(JsonRpcError):
    """The link to the sequencer process is down (the worker is about to stop)."""

    def __init__(self):
        super().__init__("Internal error", "the sequencer process is not reachable")


class SequencerLink(Protocol):
    """See the module docstring. ``clock`` batches submissions (``callLater(0)``)."""

    def __init__(self, clock, *, on_head=None, on_pending=None, on_lost=None, on_filter_call=None):
        self._clock = clock
        self.on_head = on_head
        self.on_pending = on_pending
        self.on_lost = on_lost
        self.on_filter_call = on_filter_call
        self._reader = f.FrameReader()
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[int, defer.Deferred]] = {}
        self._queued: list[tuple[f.Submission, defer.Deferred]] = []
        self._flush_call = None
        self.head: f.Head | None = None
        self.connected_once = defer.Deferred()

    # -- connection -----------------------------------------------------------------------------

    def connectionMade(self):
        pass

    def connectionLost(self, reason):
        self.connected = 0
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        waiting, self._waiting = self._waiting, {}
        for _, done in waiting.values():
            done.errback(SequencerUnavailable())
        for _, done in self._queued:
            done.errback(SequencerUnavailable())
        self._queued = []
        if self.on_lost is not None:
            self.on_lost()

    def _next_id(self) -> int:
        return next(self._ids) & 0xFFFFFFFF

    # -- submissions ----------------------------------------------------------------------------

    def submit(self, item: f.Submission) -> defer.Deferred:
        """Send ``item`` to the sequencer's pool (in this turn's batch): its hash, or fails with
        ``BackendError`` (the pool's error text)."""
        done = defer.Deferred()
        if not self.connected:
            done.errback(SequencerUnavailable())
            return done
        self._queued.append((item, done))
        if self._flush_call is None:
            self._flush_call = self._clock.callLater(0, self._flush)
        return done

    def _flush(self) -> None:
        self._flush_call = None
        queued, self._queued = self._queued, []
        # A frame holds at most 65535 transactions (u16 count).
        for start in range(0, len(queued), 65535):
            part = queued[start : start + 65535]
            request = self._next_id()
            batch = defer.Deferred()
            self._waiting[request] = (f.ANSWERS, batch)
            batch.addCallbacks(self._answered, self._failed, (part,), None, (part,))
            self.transport.write(f.encode_submit(request, [item for item, _ in part]))

    @staticmethod
    def _answered(answers: list, part: list) -> None:
        for (_, done), answer in zip(part, answers, strict=True):
            if isinstance(answer, bytes):
                done.callback(answer)
            else:
                done.errback(BackendError(answer))

    @staticmethod
    def _failed(failure, part: list) -> None:
        for _, done in part:
            done.errback(failure.value)

    # -- queries --------------------------------------------------------------------------------

    def _query(self, what: int, argument: bytes) -> defer.Deferred:
        done = defer.Deferred()
        if not self.connected:
            done.errback(SequencerUnavailable())
            return done
        request = self._next_id()
        self._waiting[request] = (f.REPLY, done)
        self.transport.write(f.encode_query(request, what, argument))
        return done

    def pending_nonce(self, address: bytes) -> defer.Deferred:
        """The sender's next nonce counting its pending transactions, or ``None``."""
        return self._query(f.PENDING_NONCE, address).addCallback(
            lambda payload: None if payload is None else f.decode_u64(payload)
        )

    def pooled(self, tx_hash: bytes) -> defer.Deferred:
        """``(sender, raw)`` of the pooled transaction ``tx_hash``, or ``None``."""
        return self._query(f.POOLED, tx_hash).addCallback(_sender_and_raw)

    def pooled_by_nonce(self, sender: bytes, nonce: int) -> defer.Deferred:
        """``(sender, raw)`` of ``sender``'s pooled transaction with ``nonce``, or ``None``."""
        return self._query(f.POOLED_BY_NONCE, sender + f.encode_u64(nonce)).addCallback(
            _sender_and_raw
        )

    def watch_pending(self, on: bool) -> None:
        """Ask for (or stop) ``PENDING`` pushes."""
        if self.connected:
            self.transport.write(f.encode_watch_pending(on))

    # -- filters of other workers, metrics -----------------------------------------------------

    def filter_call(self, worker: int, call: int, filter_id: str) -> defer.Deferred:
        """Run ``call`` (``frames.FILTER_*``) on worker ``worker``'s filter ``filter_id``: its
        result, or fails with the ``JsonRpcError`` that worker answered."""
        done = defer.Deferred()
        if not self.connected:
            done.errback(SequencerUnavailable())
            return done
        request = self._next_id()
        self._waiting[request] = (f.FILTER_RESULT, done)
        self.transport.write(f.encode_filter_call(request, worker, call, filter_id))
        return done.addCallback(_filter_outcome)

    def _filter_called(self, request: int, call: int, filter_id: str) -> None:
        if self.on_filter_call is None:
            error = BackendError("filter not found").to_json()
            self.transport.write(f.encode_filter_result(request, False, error))
            return
        d = defer.maybeDeferred(self.on_filter_call, call, filter_id)

        def answered(value):
            return f.encode_filter_result(request, True, value)

        def failed(failure):
            if not failure.check(JsonRpcError):
                log.failure("a filter call from another worker", failure)
                error = JsonRpcError("Internal error")
            else:
                error = failure.value
            return f.encode_filter_result(request, False, error.to_json())

        d.addCallbacks(answered, failed).addCallback(self._write_if_connected)

    def _write_if_connected(self, data: bytes) -> None:
        if self.connected:
            self.transport.write(data)

    def send_metrics(self, families: list) -> None:
        """Send the worker's RPC metrics (``frames.encode_metrics``) to the node."""
        self._write_if_connected(f.encode_metrics(families))

    # -- frames ---------------------------------------------------------------------------------

    def dataReceived(self, data):
        try:
            for kind, body in self._reader.feed(data):
                self._frame(kind, body)
        except (f.FrameError, ValueError, IndexError) as e:
            log.error("unreadable frame from the sequencer ({error})", error=str(e))
            self.transport.abortConnection()

    def _frame(self, kind: int, body: bytes) -> None:
        if kind == f.ANSWERS:
            request, answers = f.decode_answers(body)
            self._resolve(request, kind, answers)
        elif kind == f.REPLY:
            request, payload = f.decode_reply(body)
            self._resolve(request, kind, payload)
        elif kind == f.HEAD:
            self.head = f.decode_head(body)
            if not self.connected_once.called:
                self.connected_once.callback(self.head)
            if self.on_head is not None:
                self.on_head(self.head)
        elif kind == f.PENDING:
            if self.on_pending is not None:
                self.on_pending(f.decode_pending(body))
        elif kind == f.FILTER_CALL:
            request, _, call, filter_id = f.decode_filter_call(body)
            self._filter_called(request, call, filter_id)
        elif kind == f.FILTER_RESULT:
            request, ok, value = f.decode_filter_result(body)
            self._resolve(request, kind, (ok, value))
        else:
            raise f.FrameError(f"unexpected frame kind {kind} from the sequencer")

    def _resolve(self, request: int, kind: int, value) -> None:
        expected, done = self._waiting.pop(request, (None, None))
        if done is None or expected != kind:
            raise f.FrameError(f"answer to unknown request {request}")
        done.callback(value)


def _filter_outcome(outcome: tuple[bool, object]):
    ok, value = outcome
    if ok:
        return value
    error = value if isinstance(value, dict) else {}
    raise JsonRpcError(
        str(error.get("message", "filter not found")),
        error.get("data"),
        int(error.get("code", INTERNAL_ERROR)),
    )


def _sender_and_raw(payload: bytes | None):
    return None if payload is None else (payload[:20], payload[20:])
