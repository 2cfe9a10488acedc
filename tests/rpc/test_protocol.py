"""JSON-RPC 2.0 over HTTP: framing, batches, notifications, limits, CORS and metrics."""

from __future__ import annotations

import json

from zkos_tw.config import RpcConfig
from zkos_tw.rpc.dispatch import DEFAULT_MAX_BATCH_SIZE

from .helpers import RpcTestCase


class SingleRequestTests(RpcTestCase):
    """One request per body."""

    async def test_result(self):
        """A valid request gets ``jsonrpc``, ``result`` and the same ``id``."""
        response = await self.request({"jsonrpc": "2.0", "id": "abc", "method": "eth_chainId"})
        self.assertEqual(response, {"jsonrpc": "2.0", "result": "0x10e", "id": "abc"})

    async def test_content_type_and_cors(self):
        """Responses are JSON and carry the CORS headers (any origin, POST, content-type)."""
        code, headers, _ = await self.post(b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}')
        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders(b"content-type"), [b"application/json"])
        self.assertEqual(headers.getRawHeaders(b"access-control-allow-origin"), [b"*"])
        self.assertEqual(headers.getRawHeaders(b"access-control-allow-methods"), [b"POST"])
        self.assertEqual(headers.getRawHeaders(b"access-control-allow-headers"), [b"content-type"])

    async def test_any_path(self):
        """The endpoint answers on any path, as jsonrpsee does."""
        response = await self.treq.post(
            "http://node/some/path", data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'
        )
        self.assertEqual(json.loads(await response.content())["result"], "0x10e")

    async def test_parse_error(self):
        """Malformed JSON: -32700 with id null."""
        code, _, body = await self.post(b'{"jsonrpc": "2.0", "id": 1, "method": ')
        self.assertEqual(code, 200)
        self.assertEqual(body["error"]["code"], -32700)
        self.assertEqual(body["error"]["message"], "Parse error")
        self.assertIsNone(body["id"])

    async def test_not_utf8(self):
        """Bytes that are not UTF-8 are a parse error too."""
        _, _, body = await self.post(b"\xff\xfe{}")
        self.assertEqual(body["error"]["code"], -32700)

    async def test_deep_nesting(self):
        """JSON nested deeper than the parser's recursion limit is a parse error, not a crash."""
        _, _, body = await self.post(b"[" * 100_000 + b"]" * 100_000)
        self.assertEqual(body["error"]["code"], -32700)

    async def test_wrong_version(self):
        """``jsonrpc`` other than "2.0": -32600 with the request's id."""
        body = await self.request({"jsonrpc": "1.0", "id": 3, "method": "eth_chainId"})
        self.assertEqual(body["error"]["code"], -32600)
        self.assertEqual(body["error"]["message"], "Invalid request")
        self.assertEqual(body["id"], 3)

    async def test_missing_method(self):
        """No method: -32600."""
        body = await self.request({"jsonrpc": "2.0", "id": 3})
        self.assertEqual(body["error"]["code"], -32600)

    async def test_non_object(self):
        """A JSON scalar is not a request: -32600, id null."""
        body = await self.request(42)
        self.assertEqual(body["error"]["code"], -32600)
        self.assertIsNone(body["id"])

    async def test_bad_id(self):
        """An id that is an object is refused."""
        body = await self.request({"jsonrpc": "2.0", "id": {}, "method": "eth_chainId"})
        self.assertEqual(body["error"]["code"], -32600)

    async def test_unknown_method(self):
        """-32601 "Method not found"."""
        error = await self.assert_error(-32601, "Method not found", "eth_fooBar")
        self.assertNotIn("data", error)

    async def test_named_params_refused(self):
        """Params given as an object: -32602."""
        response = await self.call("eth_getBalance", raw_params={"address": "0x00"})
        self.assertEqual(response["error"]["code"], -32602)

    async def test_params_not_array(self):
        """Params given as a string: -32602."""
        response = await self.call("eth_blockNumber", raw_params="nope")
        self.assertEqual(response["error"]["code"], -32602)

    async def test_too_many_params(self):
        """More params than the method takes: -32602 naming the limit."""
        error = await self.assert_error(-32602, "Invalid params", "eth_blockNumber", 1)
        self.assertIn("at most 0", error["data"])

    async def test_missing_required_param(self):
        """A required param left out: -32602."""
        error = await self.assert_error(-32602, "Invalid params", "eth_getBalance")
        self.assertIn("missing", error["data"])

    async def test_notification_gets_no_response(self):
        """A request without id is a notification: 204 and an empty body."""
        code, _, body = await self.post(b'{"jsonrpc":"2.0","method":"eth_chainId"}')
        self.assertEqual(code, 204)
        self.assertIsNone(body)

    async def test_handler_crash_is_internal_error(self):
        """An unexpected exception in a handler becomes -32603 "Internal error"."""

        def broken():
            raise RuntimeError("boom")

        self.backend.latest_block_number = broken
        await self.assert_error(-32603, "Internal error", "eth_blockNumber")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class BatchTests(RpcTestCase):
    """Batches: many requests in one array."""

    async def test_mixed_batch(self):
        """Valid, invalid, unknown and notification items: one response per non-notification,
        in order."""
        body = await self.request(
            [
                {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                {"jsonrpc": "2.0", "method": "eth_chainId"},
                {"jsonrpc": "2.0", "id": 2, "method": "nope"},
                5,
                {"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance", "params": ["0x1"]},
            ]
        )
        self.assertEqual(len(body), 4)
        self.assertEqual(body[0], {"jsonrpc": "2.0", "result": "0x10e", "id": 1})
        self.assertEqual((body[1]["id"], body[1]["error"]["code"]), (2, -32601))
        self.assertEqual((body[2]["id"], body[2]["error"]["code"]), (None, -32600))
        self.assertEqual((body[3]["id"], body[3]["error"]["code"]), (3, -32602))

    async def test_only_notifications(self):
        """A batch of notifications gets 204 and no body."""
        code, _, body = await self.post(
            json.dumps([{"jsonrpc": "2.0", "method": "eth_chainId"}] * 3).encode()
        )
        self.assertEqual((code, body), (204, None))

    async def test_empty_batch(self):
        """An empty array: one -32600 response."""
        body = await self.request([])
        self.assertEqual(body["error"]["code"], -32600)
        self.assertIsNone(body["id"])

    async def test_default_batch_limit(self):
        """The default batch limit is 1000 requests."""
        self.assertEqual(DEFAULT_MAX_BATCH_SIZE, 1000)
        body = await self.request(
            [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(1000)]
        )
        self.assertEqual(len(body), 1000)


class BatchLimitTests(RpcTestCase):
    """A batch over the limit is refused whole."""

    max_batch_size = 3

    async def test_batch_too_large(self):
        """-32010 "The batch request was too large" with the limit in ``data``."""
        body = await self.request([{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}] * 4)
        self.assertEqual(
            body["error"],
            {
                "code": -32010,
                "message": "The batch request was too large",
                "data": "Exceeded max limit of 3",
            },
        )


class ResponseLimitTests(RpcTestCase):
    """``rpc_max_response_size``; set to 1 MiB here, with a genesis of more than that."""

    config = RpcConfig(max_response_size=1)

    def setUp(self):
        super().setUp()
        self.backend.genesis_input = {"blob": "0x" + "ab" * (1024 * 1024)}

    async def test_single_response_too_big(self):
        """-32008 "Response is too big" for the request's id."""
        response = await self.call("zks_getGenesis")
        self.assertEqual(response["id"], 7)
        self.assertEqual(response["error"]["code"], -32008)
        self.assertEqual(response["error"]["message"], "Response is too big")
        self.assertEqual(response["error"]["data"], "Exceeded max limit of 1048576")

    async def test_batch_response_too_big(self):
        """A batch whose parts together pass the limit gets -32011."""
        self.backend.genesis_input = {"blob": "0x" + "ab" * (400 * 1024)}
        body = await self.request(
            [{"jsonrpc": "2.0", "id": i, "method": "zks_getGenesis"} for i in range(3)]
        )
        self.assertEqual(body["error"]["code"], -32011)
        self.assertEqual(body["error"]["message"], "The batch response was too large")


class RequestLimitTests(RpcTestCase):
    """``rpc_max_request_size`` at the resource (bodies already buffered, as under StubTreq)."""

    config = RpcConfig(max_request_size=1)

    async def test_oversized_body(self):
        """A body over the limit: HTTP 413 with -32007 "Request is too big"."""
        body = (
            b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["'
            + b"a" * (1024 * 1024)
            + b'"]}'
        )
        code, _, response = await self.post(body)
        self.assertEqual(code, 413)
        self.assertEqual(response["error"]["code"], -32007)
        self.assertEqual(response["error"]["message"], "Request is too big")

    async def test_body_at_limit_is_served(self):
        """A body just under the limit is parsed normally."""
        payload = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'
        body = payload + b" " * (1024 * 1024 - len(payload))
        code, _, response = await self.post(body)
        self.assertEqual((code, response["result"]), (200, "0x10e"))


class OtherHttpMethodTests(RpcTestCase):
    """GET and OPTIONS."""

    async def test_get_is_405(self):
        """GET without a WebSocket upgrade: 405 with a short JSON explanation."""
        response = await self.treq.get("http://node/")
        self.assertEqual(response.code, 405)
        body = json.loads(await response.content())
        self.assertIn("JSON-RPC", body["message"])
        self.assertEqual(response.headers.getRawHeaders(b"allow"), [b"POST, OPTIONS"])

    async def test_options_preflight(self):
        """OPTIONS (a CORS preflight) gets 200 and the CORS headers."""
        response = await self.treq.request("OPTIONS", "http://node/")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders(b"access-control-allow-origin"), [b"*"])


class MetricsTests(RpcTestCase):
    """The RPC metrics of reference §13.2 on the registry passed in."""

    def sample(self, name, method):
        return self.registry.get_sample_value(name, {"method": method})

    async def test_single_request_metrics(self):
        """A call records its response time, request size and response size by method."""
        await self.call("eth_chainId")
        self.assertEqual(self.sample("response_time_seconds_count", "eth_chainId"), 1)
        self.assertGreater(self.sample("request_size_bytes_sum", "eth_chainId"), 0)
        self.assertGreater(self.sample("response_size_bytes_sum", "eth_chainId"), 0)

    async def test_batch_metrics(self):
        """A batch records its length in ``requests_in_batch_count{method="batch"}``."""
        await self.request([{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(5)])
        self.assertEqual(self.sample("requests_in_batch_count_sum", "batch"), 5)
        self.assertEqual(self.sample("response_time_seconds_count", "eth_chainId"), 5)
        self.assertEqual(self.sample("response_time_seconds_count", "batch"), 1)

    async def test_unknown_methods_share_a_label(self):
        """Unknown method names do not create new label values."""
        await self.call("no_suchMethod")
        self.assertEqual(self.sample("response_time_seconds_count", "unknown"), 1)
