"""JSON-RPC answers to results: batches in any order, errors, missing answers, HTTP trouble."""

import json

from twisted.internet.defer import ensureDeferred, succeed
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from zkos_tw.load.client import (
    JsonRpcClient,
    RpcError,
    encode_batch,
    make_client,
    parse_http_url,
    split_answers,
)
from zkos_tw.load.http import HttpError


class Poster:
    """Answers with canned (status, body) pairs and keeps what it was sent."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.bodies = []

    def post(self, body):
        self.bodies.append(body)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return succeed(answer)

    def close(self):
        return succeed(None)


def run(coroutine):
    return self_result(ensureDeferred(coroutine))


def self_result(deferred):
    outcome = []
    deferred.addBoth(outcome.append)
    if hasattr(outcome[0], "raiseException"):
        outcome[0].raiseException()
    return outcome[0]


class SplitAnswersTests(TestCase):
    def test_out_of_order_and_errors(self):
        answers = [
            {"jsonrpc": "2.0", "id": 6, "error": {"code": -32603, "message": "nonce too low"}},
            {"jsonrpc": "2.0", "id": 5, "result": "0xaa"},
        ]
        results = split_answers(answers, 5, 3)
        self.assertEqual(results[0], "0xaa")
        self.assertIsInstance(results[1], RpcError)
        self.assertEqual((results[1].message, results[1].code), ("nonce too low", -32603))
        self.assertIsInstance(results[2], RpcError)
        self.assertIn("no answer", results[2].message)

    def test_whole_batch_error(self):
        """A single error object for a batch (e.g. batch too large) fails every request."""
        answer = {"jsonrpc": "2.0", "id": None, "error": {"code": -32010, "message": "too large"}}
        results = split_answers(answer, 1, 2)
        self.assertEqual([r.message for r in results], ["too large", "too large"])


class ClientTests(TestCase):
    def test_call(self):
        poster = Poster((200, b'{"jsonrpc":"2.0","id":1,"result":"0x10"}'))
        client = JsonRpcClient(poster)
        self.assertEqual(run(client.call("eth_blockNumber")), "0x10")
        self.assertEqual(
            json.loads(poster.bodies[0]),
            {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        )

    def test_call_error(self):
        poster = Poster(
            (200, b'{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}')
        )
        with self.assertRaises(RpcError) as caught:
            run(JsonRpcClient(poster).call("eth_nope"))
        self.assertEqual(caught.exception.code, -32601)

    def test_batch_ids_advance(self):
        poster = Poster(
            (200, b'[{"jsonrpc":"2.0","id":1,"result":1},{"jsonrpc":"2.0","id":2,"result":2}]'),
            (200, b'[{"jsonrpc":"2.0","id":3,"result":3}]'),
        )
        client = JsonRpcClient(poster)
        self.assertEqual(run(client.batch([("a", []), ("b", [])])), [1, 2])
        self.assertEqual(run(client.batch([("c", [])])), [3])

    def test_http_trouble(self):
        """Not JSON, a non-200 without a JSON-RPC error, a lost connection: RpcError."""
        for answer, text in (
            ((200, b"<html>"), "not JSON"),
            ((502, b'"bad gateway"'), "HTTP 502"),
            (HttpError("connection lost"), "HTTP: connection lost"),
        ):
            with self.assertRaises(RpcError) as caught:
                run(JsonRpcClient(Poster(answer)).post_json(b"{}"))
            self.assertIn(text, str(caught.exception))

    def test_413_with_json_error_is_an_answer(self):
        """A 413 carrying a JSON-RPC error object is returned for the caller to split."""
        body = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32007,"message":"Request is too big"}}'
        answer = run(JsonRpcClient(Poster((413, body))).post_json(b"{}"))
        self.assertEqual(answer["error"]["code"], -32007)

    def test_encode_batch(self):
        self.assertEqual(
            json.loads(encode_batch([("m", [1])], 4)),
            [{"jsonrpc": "2.0", "id": 4, "method": "m", "params": [1]}],
        )


class UrlTests(TestCase):
    def test_parse(self):
        self.assertEqual(parse_http_url("http://127.0.0.1:3050"), ("127.0.0.1", 3050, "/"))
        self.assertEqual(parse_http_url("http://node/rpc"), ("node", 80, "/rpc"))

    def test_refused(self):
        for url in ("https://x", "ws://x:1", "http://", "http://x:99999"):
            self.assertRaises(ValueError, parse_http_url, url)

    def test_posters_provide_iposter(self):
        """Both real posters and the tests' in-memory chain provide IPoster."""
        from twisted.internet.task import Clock

        from tests.load.fake_chain import FakeChain
        from zkos_tw.interfaces import IPoster
        from zkos_tw.load.client import TreqPoster

        verifyObject(IPoster, make_client(Clock(), "http://x:1", "raw").poster)
        verifyObject(IPoster, TreqPoster(Clock(), "http://x:1"))
        verifyObject(IPoster, FakeChain())

    def test_unknown_client(self):
        from twisted.internet.task import Clock

        self.assertRaises(ValueError, make_client, Clock(), "http://x:1", "curl")
