"""The JSON-RPC HTTP server: one Klein app on ``rpc_address``, WebSocket on the same port.

``POST`` (any path) carries a JSON-RPC body; a request with ``Upgrade: websocket`` is handed to
autobahn's ``WebSocketResource``; ``OPTIONS`` answers CORS preflights; other methods get 405
with a short JSON explanation. Responses carry CORS headers (any origin, POST, content-type).

Request bodies are limited to ``rpc_max_request_size`` MiB twice over: ``RpcSite``'s channel
answers 413 as soon as the headers announce a longer body (or a chunked body grows past it),
before the body is read, and the handler reads at most limit + 1 bytes of what was buffered.
A 413 carries the jsonrpsee error -32007 ``Request is too big``.
"""

from __future__ import annotations

from klein import Klein
from prometheus_client import CollectorRegistry
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.protocols.policies import WrappingFactory
from twisted.web.http import HTTPChannel
from twisted.web.server import Site

import zkos_tw
from zkos_tw.rpc.debug import DebugNamespace
from zkos_tw.rpc.dispatch import DEFAULT_MAX_BATCH_SIZE, Dispatcher, encode, error_response
from zkos_tw.rpc.errors import OVERSIZED_REQUEST, JsonRpcError
from zkos_tw.rpc.eth import EthNamespace
from zkos_tw.rpc.filters import FilterRegistry, FiltersNamespace
from zkos_tw.rpc.methods import MethodTable
from zkos_tw.rpc.metrics import RpcMetrics
from zkos_tw.rpc.net import NetNamespace
from zkos_tw.rpc.ots import OtsNamespace
from zkos_tw.rpc.pubsub import PubSubNamespace
from zkos_tw.rpc.trace import TraceNamespace
from zkos_tw.rpc.web3 import Web3Namespace
from zkos_tw.rpc.websocket import websocket_factory
from zkos_tw.rpc.zks import ZksNamespace

log = Logger()
MIB = 1024 * 1024
CORS_HEADERS = {
    b"access-control-allow-origin": b"*",
    b"access-control-allow-methods": b"POST",
    b"access-control-allow-headers": b"content-type",
}


def too_big_body(limit: int) -> bytes:
    """The JSON body of a 413 answer."""
    error = JsonRpcError("Request is too big", f"Exceeded max limit of {limit}", OVERSIZED_REQUEST)
    return encode(error_response(error))


class RpcServer:
    """The Klein app: JSON-RPC over HTTP POST, WebSocket upgrades, CORS."""

    app = Klein()

    def __init__(
        self,
        dispatcher: Dispatcher,
        max_request_bytes: int,
        websocket_resource=None,
        extra_headers: dict | None = None,
    ):
        self.dispatcher = dispatcher
        self.max_request_bytes = max_request_bytes
        self.websocket_resource = websocket_resource
        # Sent with every answer: an RPC worker names itself (``x-zkos-rpc-worker``).
        self.headers = {**CORS_HEADERS, **(extra_headers or {})}

    @app.route("/", branch=True)
    async def rpc(self, request):
        for name, value in self.headers.items():
            request.setHeader(name, value)
        method = request.method
        upgrade = (request.getHeader(b"upgrade") or b"").lower()
        if upgrade == b"websocket" and self.websocket_resource is not None:
            return self.websocket_resource
        if method == b"OPTIONS":
            request.setResponseCode(200)
            return b""
        if method != b"POST":
            request.setResponseCode(405)
            request.setHeader(b"allow", b"POST, OPTIONS")
            request.setHeader(b"content-type", b"application/json")
            return encode(
                {
                    "error": "method not allowed",
                    "message": "this is a JSON-RPC 2.0 endpoint: POST a JSON body, or open a "
                    "WebSocket on this URL",
                }
            )
        request.setHeader(b"content-type", b"application/json")
        body = request.content.read(self.max_request_bytes + 1)
        if len(body) > self.max_request_bytes:
            request.setResponseCode(413)
            return too_big_body(self.max_request_bytes)
        response = await self.dispatcher.handle(body)
        if response is None:
            request.setResponseCode(204)
            return b""
        request.setHeader(b"content-length", str(len(response)).encode())
        return response

    @app.handle_errors
    def error(self, request, failure):
        log.failure("JSON-RPC HTTP request failed", failure)
        request.setResponseCode(500)
        request.setHeader(b"content-type", b"application/json")
        return encode(error_response(JsonRpcError("Internal error")))


class LimitedHTTPChannel(HTTPChannel):
    """An HTTP/1.1 channel that refuses a body longer than its site's ``max_request_bytes``
    before reading it: 413 with a JSON-RPC error, then the connection is closed."""

    _rejected = False
    _body_received = 0

    def allHeadersReceived(self):
        super().allHeadersReceived()
        limit = self.site.max_request_bytes
        if self.length is not None and self.length > limit:
            self._reject(limit)

    def rawDataReceived(self, data):
        if self._rejected:
            return
        if not self._handlingRequest and self.length is None:
            # A chunked body: count what arrives (framing included, a small overestimate).
            self._body_received += len(data)
            limit = self.site.max_request_bytes
            if self._body_received > limit + 64 * 1024:
                self._reject(limit)
                return
        super().rawDataReceived(data)

    def allContentReceived(self):
        self._body_received = 0
        super().allContentReceived()

    def _reject(self, limit: int) -> None:
        self._rejected = True
        body = too_big_body(limit)
        headers = [
            b"HTTP/1.1 413 Payload Too Large",
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
        ] + [name + b": " + value for name, value in CORS_HEADERS.items()]
        self.transport.write(b"\r\n".join(headers) + b"\r\n\r\n" + body)
        self.transport.loseConnection()


class RpcSite(Site):
    """The RPC ``Site``: plain HTTP/1.1 channels with the body limit, no request logging."""

    protocol = LimitedHTTPChannel

    def __init__(self, resource, max_request_bytes: int, reactor=None):
        super().__init__(resource, reactor=reactor)
        self.max_request_bytes = max_request_bytes

    def log(self, request):
        pass


class ConnectionLimit(WrappingFactory):
    """Refuses connections beyond ``rpc_max_connections`` open at once (HTTP and WebSocket alike).

    A refused connection is closed at once. Wrapping keeps the count right across WebSocket
    upgrades: autobahn swaps the wrapped protocol, the wrapper stays and reports the close.
    """

    def __init__(self, factory, max_connections: int):
        super().__init__(factory)
        self.max_connections = max_connections

    def buildProtocol(self, addr):
        if len(self.protocols) >= self.max_connections:
            log.warn("refusing {peer}: {n} RPC connections open", peer=addr, n=len(self.protocols))
            return None
        return super().buildProtocol(addr)


class RpcService(StreamServerEndpointService):
    """The listening RPC server; starts and stops the filter registry with it."""

    def __init__(self, endpoint, factory, filters: FilterRegistry):
        super().__init__(endpoint, factory)
        self.filters = filters

    def startService(self):
        self.filters.start()
        return super().startService()

    def stopService(self):
        self.filters.stop()
        return super().stopService()


def build_rpc(
    config,
    backend,
    reactor,
    registry: CollectorRegistry,
    *,
    max_batch_size=None,
    extra_headers: dict | None = None,
    filter_registry=FilterRegistry,
):
    """The pieces of the RPC server: ``(site, filters, dispatcher)`` (no listening);
    ``extra_headers`` go with every HTTP answer; ``filter_registry`` makes the
    ``FilterRegistry`` (RPC workers pass one that reaches the other workers' filters)."""
    max_request_bytes = config.max_request_size * MIB
    table = MethodTable()
    filters = filter_registry(
        backend,
        reactor,
        ttl=config.stale_filter_ttl,
        max_blocks=config.max_blocks_per_filter,
        max_logs=config.max_logs_per_response,
    )
    for namespace in (
        EthNamespace(backend, config.eth_call_gas),
        FiltersNamespace(filters),
        PubSubNamespace(backend),
        NetNamespace(backend),
        Web3Namespace(zkos_tw.__version__),
        ZksNamespace(backend),
    ):
        table.add_namespace(namespace)
    traces = getattr(backend, "traces", None)
    if traces is not None:
        table.add_namespace(DebugNamespace(backend, traces))
        table.add_namespace(
            TraceNamespace(backend, traces, max_filter_blocks=config.max_trace_filter_blocks)
        )
        index = getattr(backend, "address_index", None)
        if index is not None:
            table.add_namespace(OtsNamespace(backend, traces, index))
    dispatcher = Dispatcher(
        table,
        RpcMetrics(registry),
        reactor,
        max_batch_size=max_batch_size or DEFAULT_MAX_BATCH_SIZE,
        max_response_bytes=config.max_response_size * MIB,
    )
    from autobahn.twisted.resource import WebSocketResource

    ws = WebSocketResource(websocket_factory(dispatcher, max_request_bytes, reactor))
    server = RpcServer(dispatcher, max_request_bytes, ws, extra_headers)
    site = RpcSite(server.app.resource(), max_request_bytes, reactor=reactor)
    return site, filters, dispatcher


def create_rpc_service(config, backend, reactor, registry: CollectorRegistry) -> RpcService:
    """The JSON-RPC service (HTTP and WebSocket) on ``config.address`` (an endpoint string)."""
    site, filters, _ = build_rpc(config, backend, reactor, registry)
    factory = ConnectionLimit(site, config.max_connections)
    return RpcService(serverFromString(reactor, config.address), factory, filters)
