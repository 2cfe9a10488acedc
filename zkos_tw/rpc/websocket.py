"""JSON-RPC over WebSocket (autobahn), on the same port as HTTP.

Every text (or binary) message is one JSON-RPC body, handled by the same ``Dispatcher`` as
HTTP; answers go back as text messages, in completion order. The connection is the context of
``eth_subscribe``: it sends notifications and drops its subscriptions when it closes. Messages
longer than ``rpc_max_request_size`` close the connection with code 1009 (autobahn's payload
limit).
"""

from __future__ import annotations

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet.defer import Deferred
from twisted.logger import Logger

from zkos_tw.rpc.dispatch import Dispatcher, encode

try:  # autobahn's handshake and ping timers; see websocket_factory
    from txaio._common import _BatchedTimer
except ImportError:  # pragma: no cover - a txaio without it keeps its global-loop timers
    _BatchedTimer = None

log = Logger()


class RpcWebSocketProtocol(WebSocketServerProtocol):
    """One WebSocket client: requests in, responses and subscription notifications out."""

    def onConnect(self, request):
        self.subscriptions: dict = {}
        self._open = False

    def onOpen(self):
        self._open = True

    def onMessage(self, payload, isBinary):
        d = Deferred.fromCoroutine(self.factory.dispatcher.handle(payload, self))
        d.addCallback(self._send)
        d.addErrback(lambda f: log.failure("WebSocket request failed", f))

    def _send(self, message: bytes | None) -> None:
        if message is not None and self._open:
            self.sendMessage(message)

    def notify(self, subscription_id: str, result) -> None:
        """Send one ``eth_subscription`` notification."""
        self._send(
            encode(
                {
                    "jsonrpc": "2.0",
                    "method": "eth_subscription",
                    "params": {"subscription": subscription_id, "result": result},
                }
            )
        )

    def onClose(self, wasClean, code, reason):
        self._open = False
        subscriptions = getattr(self, "subscriptions", {})
        for remove in subscriptions.values():
            remove()
        subscriptions.clear()


def websocket_factory(dispatcher: Dispatcher, max_message_bytes: int, reactor):
    """The autobahn factory of RPC WebSocket connections."""
    factory = WebSocketServerFactory(reactor=reactor)
    factory.protocol = RpcWebSocketProtocol
    factory.dispatcher = dispatcher
    factory.setProtocolOptions(
        maxMessagePayloadSize=max_message_bytes,
        maxFramePayloadSize=max_message_bytes,
        failByDrop=False,
    )
    if _BatchedTimer is not None:
        # autobahn schedules its open/close-handshake and ping timeouts on txaio's global loop;
        # bind them to the reactor we were given (STYLE rule 12), as make_batched_timer would.
        factory._batched_timer = _BatchedTimer(200.0, 1000, reactor.seconds, reactor.callLater)
    return factory
