"""Properties: hex codecs round-trip, and no body makes the dispatcher fail or answer badly."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.defer import Deferred

from tests import strategies  # noqa: F401  (registers and loads the hypothesis profiles)
from zkos_tw.rpc import codec

from .helpers import RpcTestCase

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
METHODS = [
    "eth_getBalance",
    "eth_call",
    "eth_getLogs",
    "eth_getBlockByNumber",
    "eth_feeHistory",
    "eth_subscribe",
    "eth_newFilter",
    "web3_sha3",
    "nope",
]
requests = st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0"), "id": st.integers(0, 9), "method": st.sampled_from(METHODS)},
    optional={"params": st.lists(json_values, max_size=4)},
)


class CodecPropertyTests(RpcTestCase):
    """Encoders and decoders agree."""

    @given(st.integers(0, 2**256 - 1))
    def test_quantity_round_trip(self, n):
        """``parse_quantity(quantity(n)) == n`` and the text has no leading zero."""
        text = codec.quantity(n)
        self.assertEqual(codec.parse_quantity(text), n)
        self.assertTrue(text == "0x0" or text[2] != "0")

    @given(st.binary(max_size=64))
    def test_data_round_trip(self, raw):
        """``parse_data(data(b)) == b``."""
        self.assertEqual(codec.parse_data(codec.data(raw)), raw)


class DispatcherPropertyTests(RpcTestCase):
    """Arbitrary requests get well-formed answers."""

    def answer(self, body: bytes):
        d = Deferred.fromCoroutine(self.dispatcher.handle(body))
        return self.successResultOf(d)

    @given(st.one_of(requests, st.lists(requests, min_size=1, max_size=4), json_values))
    def test_every_answer_is_a_response(self, payload):
        """Each response has ``jsonrpc``, ``id`` and exactly one of ``result`` / ``error``; errors
        have an integer code and a string message."""
        out = self.answer(json.dumps(payload).encode())
        responses = json.loads(out)
        for response in responses if isinstance(responses, list) else [responses]:
            self.assertEqual(response["jsonrpc"], "2.0")
            self.assertIn("id", response)
            self.assertNotEqual("result" in response, "error" in response)
            if "error" in response:
                self.assertIsInstance(response["error"]["code"], int)
                self.assertIsInstance(response["error"]["message"], str)
                self.assertNotEqual(response["error"]["message"], "Internal error", response)

    @given(st.binary(max_size=40))
    def test_garbage_is_a_parse_error(self, body):
        """Bytes that are not JSON give -32700."""
        try:
            json.loads(body)
        except ValueError:
            self.assertEqual(json.loads(self.answer(body))["error"]["code"], -32700)
