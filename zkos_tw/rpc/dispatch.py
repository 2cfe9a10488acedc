"""JSON-RPC 2.0 processing, shared by HTTP and WebSocket: bytes in, bytes (or nothing) out.

``Dispatcher.handle(body, connection)`` parses one body (a request or a batch), runs the
methods, and returns the serialized response, or ``None`` when nothing is to be sent (only
notifications). Every error becomes a response here, in one place:

* not JSON -> -32700 ``Parse error``; not a request object, wrong ``jsonrpc``, no method, an empty
  batch or a non-object batch item -> -32600 ``Invalid request``; unknown method -> -32601;
  undecodable params -> -32602 ``Invalid params`` (``data`` says why);
* ``JsonRpcError`` raised by a handler or the backend -> its code and message (-32603 with the
  reference's text, or code 3 for reverts);
* any other exception -> -32603 ``Internal error`` (logged with its traceback);
* a batch longer than ``max_batch_size`` -> -32010 ``The batch request was too large``; a response
  longer than ``max_response_bytes`` -> -32008 ``Response is too big`` (a single call) or -32011
  ``The batch response was too large`` (a batch), as jsonrpsee does.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from zkos_tw.rpc.errors import (
    OVERSIZED_RESPONSE,
    TOO_BIG_BATCH_REQUEST,
    TOO_BIG_BATCH_RESPONSE,
    InvalidRequest,
    JsonRpcError,
    ParseError,
)
from zkos_tw.rpc.methods import MethodTable
from zkos_tw.rpc.metrics import RpcMetrics

log = Logger()

DEFAULT_MAX_BATCH_SIZE = 1000


def encode(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":")).encode()


def error_response(error: JsonRpcError, request_id: Any = None) -> dict:
    """A response object carrying ``error``."""
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


class Dispatcher:
    """Runs JSON-RPC bodies against a ``MethodTable``."""

    def __init__(
        self,
        table: MethodTable,
        metrics: RpcMetrics,
        clock,
        *,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
        max_response_bytes: int = 24 * 1024 * 1024,
    ):
        self.table = table
        self.metrics = metrics
        self.clock = clock
        self.max_batch_size = max_batch_size
        self.max_response_bytes = max_response_bytes

    async def handle(self, body: bytes, connection=None) -> bytes | None:
        """The serialized response to ``body``, or ``None`` if there is nothing to send."""
        started = self.clock.seconds()
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            return encode(error_response(ParseError(str(e))))
        except RecursionError:
            return encode(error_response(ParseError("nested too deeply")))
        if isinstance(payload, list):
            return await self._batch(payload, len(body), started, connection)
        method = _method_label(payload, self.table)
        response = await self._one(payload, connection)
        if response is None:
            out = None
        else:
            out = encode(response)
            if len(out) > self.max_response_bytes:
                out = encode(self._too_big(response.get("id")))
        self.metrics.request_size.labels(method).observe(len(body))
        self.metrics.response_size.labels(method).observe(len(out or b""))
        return out

    async def _batch(self, items: list, size: int, started: float, connection) -> bytes | None:
        if not items:
            return encode(error_response(InvalidRequest("empty batch")))
        if len(items) > self.max_batch_size:
            error = JsonRpcError(
                "The batch request was too large",
                f"Exceeded max limit of {self.max_batch_size}",
                TOO_BIG_BATCH_REQUEST,
            )
            return encode(error_response(error))
        # Each call starts at once; only those that did not finish synchronously are awaited
        # (a batch of 100 eth_sendRawTransaction is 100 Deferreds, not 100 coroutines).
        responses = [self._start_one(item, connection) for item in items]
        waiting = [i for i, r in enumerate(responses) if isinstance(r, Deferred)]
        if waiting:
            await _all_answered(responses, waiting)
        present = [r for r in responses if r is not None]
        if not present:
            out = None
        else:
            # One encoding of the whole array; per-part encoding only when it is over the limit.
            out = encode(present)
            if len(out) > self.max_response_bytes:
                out = self._limited(present)
        self.metrics.requests_in_batch.labels("batch").observe(len(items))
        self.metrics.request_size.labels("batch").observe(size)
        self.metrics.response_size.labels("batch").observe(len(out or b""))
        self.metrics.response_time.labels("batch").observe(self.clock.seconds() - started)
        return out

    def _limited(self, responses: list) -> bytes:
        """The batch response when its plain encoding is over the limit: oversized parts become
        "Response is too big" errors, and a total still over it one "batch response" error."""
        parts = []
        total = 2
        for response in responses:
            part = encode(response)
            if len(part) > self.max_response_bytes:
                part = encode(self._too_big(response.get("id")))
            total += len(part) + 1
            if total > self.max_response_bytes:
                error = JsonRpcError(
                    "The batch response was too large",
                    f"Exceeded max limit of {self.max_response_bytes}",
                    TOO_BIG_BATCH_RESPONSE,
                )
                out = encode(error_response(error))
                break
            parts.append(part)
        else:
            out = b"[" + b",".join(parts) + b"]"
        return out

    def _too_big(self, request_id) -> dict:
        error = JsonRpcError(
            "Response is too big",
            f"Exceeded max limit of {self.max_response_bytes}",
            OVERSIZED_RESPONSE,
        )
        return error_response(error, request_id)

    async def _one(self, item: Any, connection) -> dict | None:
        """The response object to one request, or ``None`` for a notification."""
        response = self._start_one(item, connection)
        if isinstance(response, Deferred):
            response = await response
        return response

    def _start_one(self, item: Any, connection):
        """Start one request: its response (or ``None`` for a notification), or a Deferred of it
        when the method does not answer synchronously."""
        if not isinstance(item, dict):
            return error_response(InvalidRequest("request must be an object"))
        request_id = item.get("id")
        if not _valid_id(request_id):
            return error_response(InvalidRequest("id must be a string, a number or null"))
        method = item.get("method")
        if item.get("jsonrpc") != "2.0":
            return error_response(InvalidRequest('jsonrpc must be "2.0"'), request_id)
        if not isinstance(method, str):
            return error_response(InvalidRequest("method must be a string"), request_id)
        notification = "id" not in item
        started = self.clock.seconds()
        try:
            result = self.table.start(method, item.get("params"), connection)
        except Exception:  # noqa: BLE001 - mapped to the JSON-RPC error in _finish
            return self._finish(method, request_id, notification, started, error=Failure())
        if isinstance(result, Deferred):
            return result.addCallbacks(
                lambda value: self._finish(method, request_id, notification, started, value),
                lambda failure: self._finish(
                    method, request_id, notification, started, error=failure
                ),
            )
        return self._finish(method, request_id, notification, started, result)

    def _finish(self, method, request_id, notification, started, result=None, error=None):
        """The response of a finished call; ``error`` is the ``Failure`` of a failed one."""
        if error is None:
            response = {"jsonrpc": "2.0", "result": result, "id": request_id}
        elif isinstance(error.value, JsonRpcError):
            response = error_response(error.value, request_id)
        else:
            log.failure("JSON-RPC method {method} failed", failure=error, method=method)
            response = error_response(JsonRpcError("Internal error"), request_id)
        label = method if self.table.get(method) is not None else "unknown"
        self.metrics.response_time.labels(label).observe(self.clock.seconds() - started)
        return None if notification else response


def _all_answered(responses: list, waiting: list[int]) -> Deferred:
    """Fill ``responses[i]`` for each ``i`` in ``waiting`` (Deferreds whose callbacks already
    turn errors into error responses); fires when all have (cheaper than a DeferredList)."""
    done = Deferred()
    remaining = [len(waiting)]

    def answered(response, index):
        if isinstance(response, Failure):  # a bug after the call: answer, never hang
            log.failure("JSON-RPC batch item failed", failure=response)
            response = error_response(JsonRpcError("Internal error"))
        responses[index] = response
        remaining[0] -= 1
        if remaining[0] == 0:
            done.callback(None)

    for index in waiting:
        responses[index].addBoth(answered, index)
    return done


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


def _method_label(payload: Any, table: MethodTable) -> str:
    method = payload.get("method") if isinstance(payload, dict) else None
    return method if isinstance(method, str) and table.get(method) is not None else "unknown"
