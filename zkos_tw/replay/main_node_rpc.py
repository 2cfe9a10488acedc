"""``MainNodeRpc``: the external node's JSON-RPC client of ``general_main_node_rpc_url``.

Two uses: ``send_raw_transaction`` forwards a transaction sent to the EN and answers exactly what
the main node answered (a JSON-RPC error object comes back as a ``JsonRpcError`` with the main
node's code, message and data, so the EN's client sees the main node's error); ``block_number``
tells the catch-up monitor how far ahead the main node is.
"""

from __future__ import annotations

import json
from itertools import count

from twisted.internet import defer

from zkos_tw.rpc.errors import JsonRpcError

#: seconds one request to the main node may take
REQUEST_TIMEOUT = 10.0


class MainNodeRpc:
    """JSON-RPC over HTTP POST to ``url`` through the treq-like ``http_client``."""

    def __init__(self, http_client, url: str, *, timeout: float = REQUEST_TIMEOUT):
        self._http = http_client
        self.url = url
        self._timeout = timeout
        self._ids = count(1)

    @defer.inlineCallbacks
    def call(self, method: str, params: list):
        """The ``result`` of ``method``; a JSON-RPC error object raises ``JsonRpcError``."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        response = yield self._http.post(
            self.url,
            data=json.dumps(body).encode(),
            headers={b"Content-Type": [b"application/json"]},
            timeout=self._timeout,
        )
        text = yield response.content()
        try:
            answer = json.loads(text)
        except ValueError:
            raise JsonRpcError(
                f"the main node answered {method} with HTTP {response.code} and no JSON"
            ) from None
        error = answer.get("error") if isinstance(answer, dict) else None
        if error is not None:
            raise JsonRpcError(
                str(error.get("message", "")), error.get("data"), int(error.get("code", -32603))
            )
        return answer.get("result")

    def send_raw_transaction(self, raw: bytes):
        """Forward ``raw``; the transaction hash (bytes) the main node answered."""
        d = self.call("eth_sendRawTransaction", ["0x" + raw.hex()])
        return d.addCallback(lambda result: bytes.fromhex(result[2:]))

    def block_number(self):
        """The main node's newest block number."""
        return self.call("eth_blockNumber", []).addCallback(lambda result: int(result, 16))
