"""JSON-RPC over HTTP for the load generator: single calls, batches and pre-encoded bodies.

``JsonRpcClient`` sits on a *poster*: anything with ``post(body) -> Deferred[(status, body)]``
and ``close() -> Deferred``. Two posters exist, chosen with ``zkosctl load --client``:
``HttpPool`` (``zkos_tw.load.http``, the default) and ``TreqPoster`` (treq over a persistent
``HTTPConnectionPool``). Both keep connections open across requests.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import HostnameEndpoint
from zope.interface import implementer

from zkos_tw.interfaces import IPoster
from zkos_tw.load.http import HttpError, HttpPool


class RpcError(Exception):
    """A JSON-RPC error object, or an answer that is not one."""

    def __init__(self, message: str, code: int | None = None, data=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data


def encode_request(method: str, params: list, request_id: int) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def encode_batch(calls: list[tuple[str, list]], first_id: int = 1) -> bytes:
    """A batch body; request ids are ``first_id``, ``first_id + 1``, ..."""
    return json.dumps(
        [encode_request(m, p, first_id + i) for i, (m, p) in enumerate(calls)],
        separators=(",", ":"),
    ).encode()


def split_answers(answers, first_id: int, count: int) -> list:
    """Per request (in request order): its ``result`` or an ``RpcError``. A batch answer may come
    in any order; a missing answer becomes an ``RpcError``."""
    if isinstance(answers, dict):
        error = answers.get("error") or {}
        failure = RpcError(str(error.get("message", answers)), error.get("code"))
        return [failure] * count
    by_id = {}
    for answer in answers:
        if isinstance(answer, dict):
            by_id[answer.get("id")] = answer
    results = []
    for request_id in range(first_id, first_id + count):
        answer = by_id.get(request_id)
        if answer is None:
            results.append(RpcError("no answer for this request in the batch"))
        elif "error" in answer and answer["error"] is not None:
            error = answer["error"]
            if isinstance(error, dict):
                results.append(
                    RpcError(str(error.get("message")), error.get("code"), error.get("data"))
                )
            else:
                results.append(RpcError(str(error)))
        else:
            results.append(answer.get("result"))
    return results


class JsonRpcClient:
    """JSON-RPC calls over one ``IPoster``."""

    def __init__(self, poster):
        self.poster = poster
        self._next_id = 1

    async def post_json(self, body: bytes):
        """POST ``body``; the decoded JSON answer (``RpcError`` on HTTP or JSON trouble)."""
        try:
            status, answer = await self.poster.post(body)
        except HttpError as e:
            raise RpcError(f"HTTP: {e}") from None
        try:
            decoded = json.loads(answer)
        except ValueError:
            raise RpcError(f"HTTP {status}: answer is not JSON: {answer[:120]!r}") from None
        if status != 200 and not (isinstance(decoded, dict) and "error" in decoded):
            raise RpcError(f"HTTP {status}: {answer[:120]!r}")
        return decoded

    async def call(self, method: str, params: list | None = None):
        """One call's result; ``RpcError`` for an error answer."""
        (result,) = await self.batch([(method, params or [])], single=True)
        if isinstance(result, RpcError):
            raise result
        return result

    async def batch(self, calls: list[tuple[str, list]], single: bool = False) -> list:
        """Results (or ``RpcError``s) of ``calls`` sent as one batch (or one single request)."""
        first = self._next_id
        self._next_id += len(calls)
        if single:
            (method, params) = calls[0]
            body = json.dumps(encode_request(method, params, first), separators=(",", ":"))
            answer = await self.post_json(body.encode())
            return split_answers([answer] if isinstance(answer, dict) else answer, first, 1)
        answer = await self.post_json(encode_batch(calls, first))
        return split_answers(answer, first, len(calls))

    def close(self) -> Deferred:
        return self.poster.close()


@implementer(IPoster)
class TreqPoster:
    """treq with a persistent connection pool of ``size`` connections to the host."""

    def __init__(self, reactor, url: str, size: int = 4):
        from treq.client import HTTPClient
        from twisted.web.client import Agent, HTTPConnectionPool

        self.url = url.encode()
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool.maxPersistentPerHost = size
        self.pool.retryAutomatically = False
        self.client = HTTPClient(Agent(reactor, pool=self.pool))

    def post(self, body: bytes) -> Deferred:
        return Deferred.fromCoroutine(self._post(body))

    async def _post(self, body: bytes):
        try:
            response = await self.client.post(
                self.url, data=body, headers={b"content-type": [b"application/json"]}
            )
            return response.code, await response.content()
        except Exception as e:  # noqa: BLE001 - connection errors of many kinds
            raise HttpError(str(e) or type(e).__name__) from None

    def close(self) -> Deferred:
        return self.pool.closeCachedConnections()


def parse_http_url(url: str) -> tuple[str, int, str]:
    """``(host, port, path)`` of an ``http://`` URL; ``ValueError`` with a clear text."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"--rpc-url must be an http:// URL, got {url!r}")
    try:
        port = parts.port or 80
    except ValueError:
        raise ValueError(f"bad port in --rpc-url {url!r}") from None
    return parts.hostname, port, parts.path or "/"


def make_client(reactor, url: str, kind: str = "raw", size: int = 4) -> JsonRpcClient:
    """A client for ``url`` with ``size`` connections: ``raw`` (``HttpPool``) or ``treq``."""
    host, port, path = parse_http_url(url)
    if kind == "treq":
        return JsonRpcClient(TreqPoster(reactor, url, size))
    if kind != "raw":
        raise ValueError(f"unknown client {kind!r} (raw or treq)")
    endpoint = HostnameEndpoint(reactor, host, port)
    host_header = host if port == 80 else f"{host}:{port}"
    return JsonRpcClient(HttpPool(endpoint, host_header.encode(), size, path.encode()))
