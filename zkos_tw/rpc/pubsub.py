"""WebSocket subscriptions (reference §3.3 "Pub/sub"): ``eth_subscribe`` / ``eth_unsubscribe``.

Kinds: ``newHeads`` (the RPC header of each new block), ``logs`` (each matching log of each new
block; an optional filter object's address/topics apply, its block range is ignored) and
``newPendingTransactions`` (hashes, or full transaction objects when the parameter is ``true``).
``syncing`` is refused as in the reference. Ids are ``0x`` + hex of a random u128.
Notifications: ``{"jsonrpc": "2.0", "method": "eth_subscription", "params":
{"subscription": id, "result": ...}}``. Over HTTP these methods answer -32601, as jsonrpsee does.

A connection (``zkos_tw.rpc.websocket.RpcWebSocketProtocol``) offers ``notify(id, result)`` and a
``subscriptions`` dict of id -> remover; closing it removes all its subscriptions.
"""

from __future__ import annotations

from zkos_tw.rpc.blocks import header_of
from zkos_tw.rpc.codec import parse_filter
from zkos_tw.rpc.errors import BackendError, InvalidParams, SubscriptionParamsError
from zkos_tw.rpc.filters import new_id
from zkos_tw.rpc.logfilter import log_matches
from zkos_tw.rpc.methods import rpc_method

KINDS = ("newHeads", "logs", "newPendingTransactions", "syncing")


class PubSubNamespace:
    """Handlers of ``eth_subscribe`` and ``eth_unsubscribe`` (WebSocket only)."""

    def __init__(self, backend):
        self.backend = backend

    @rpc_method("eth_subscribe", "any", "any", required=1, connection=True, websocket_only=True)
    def subscribe(self, connection, kind, params):
        if kind not in KINDS:
            raise InvalidParams(
                f"unknown variant `{kind}`, expected one of " + ", ".join(f"`{k}`" for k in KINDS)
            )
        subscription_id = new_id()

        def notify(result):
            connection.notify(subscription_id, result)

        if kind == "newHeads":
            if params is not None:
                raise SubscriptionParamsError(
                    "invalid params: specified for head subscription (expected none)"
                )
            remove = self.backend.add_block_listener(lambda block, logs: notify(header_of(block)))
        elif kind == "logs":
            if isinstance(params, bool):
                raise SubscriptionParamsError(
                    "invalid params: boolean (transaction fullness) specified for log subscription"
                )
            log_filter = parse_filter(params if params is not None else {})

            def on_block(block, logs):
                for log in logs:
                    if log_matches(log, log_filter.addresses, log_filter.topics):
                        notify(log)

            remove = self.backend.add_block_listener(on_block)
        elif kind == "newPendingTransactions":
            if isinstance(params, dict):
                raise SubscriptionParamsError(
                    "invalid params: log filter specified for pending transaction subscription"
                )
            if params is not None and not isinstance(params, bool):
                raise InvalidParams("second parameter: expected a boolean")
            full = bool(params)
            remove = self.backend.add_pending_transaction_listener(
                lambda tx: notify(tx if full else tx["hash"])
            )
        else:
            raise BackendError("syncing subscriptions are not supported yet")
        connection.subscriptions[subscription_id] = remove
        return subscription_id

    @rpc_method("eth_unsubscribe", "any", connection=True, websocket_only=True)
    def unsubscribe(self, connection, subscription_id):
        if not isinstance(subscription_id, str):
            raise InvalidParams("first parameter: expected a subscription id (hex string)")
        remove = connection.subscriptions.pop(subscription_id.lower(), None)
        if remove is None:
            return False
        remove()
        return True
