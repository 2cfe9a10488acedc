"""``L1Client`` over ``StubTreq``: request shape, helpers, retry policy, timeouts, errors,
health reporting. No sockets, no real time."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.l1.helpers import run, scripted_client
from zkos_tw.l1.client import L1Client, L1Error, L1RpcError, selector

OK = (200, {"result": "0x10"})


class RequestTests(SynchronousTestCase):
    """What goes out and how answers are read."""

    def test_request_shape_and_ids(self):
        """JSON-RPC 2.0 with increasing ids; the result comes back."""
        client, resource, _, stub = scripted_client([OK, (200, {"result": "0x2a"})])
        self.assertEqual(run(stub, client.request("eth_blockNumber", [])), "0x10")
        self.assertEqual(run(stub, client.request("eth_chainId", [])), "0x2a")
        first, second = resource.requests
        self.assertEqual(first["jsonrpc"], "2.0")
        self.assertEqual((first["method"], first["params"]), ("eth_blockNumber", []))
        self.assertEqual(second["id"], first["id"] + 1)

    def test_helpers(self):
        """block_number, call, get_code, get_logs and send_raw_transaction decode their
        answers and send the right parameters."""
        script = [
            (200, {"result": "0x1f"}),
            (200, {"result": "0x" + "00" * 31 + "07"}),
            (200, {"result": "0x6001"}),
            (200, {"result": []}),
            (200, {"result": "0x" + "ab" * 32}),
            (200, {"result": None}),
        ]
        client, resource, _, stub = scripted_client(script)
        address = bytes(range(20))
        self.assertEqual(run(stub, client.block_number()), 31)
        value = run(stub, client.call_function(address, "f(uint256)", [5], ["uint256"], block=12))
        self.assertEqual(value, (7,))
        self.assertEqual(run(stub, client.get_code(address)), b"\x60\x01")
        self.assertEqual(run(stub, client.get_logs(address, [b"\x01" * 32, None], 3, 9)), [])
        self.assertEqual(run(stub, client.send_raw_transaction(b"\x02")), b"\xab" * 32)
        self.assertIsNone(run(stub, client.get_transaction_receipt(b"\x00" * 32)))
        call = resource.requests[1]["params"]
        expected = "0x" + (selector("f(uint256)") + (5).to_bytes(32, "big")).hex()
        self.assertEqual(call, [{"to": "0x" + address.hex(), "data": expected}, "0xc"])
        logs = resource.requests[3]["params"][0]
        self.assertEqual(logs["fromBlock"], "0x3")
        self.assertEqual(logs["toBlock"], "0x9")
        self.assertEqual(logs["topics"], ["0x" + "01" * 32, None])

    def test_selector(self):
        """Selectors are the first 4 bytes of keccak of the signature (reference §7.1)."""
        self.assertEqual(selector("getAllZKChainChainIDs()").hex(), "68b8d331")
        self.assertEqual(selector("getZKChain(uint256)").hex(), "e680c4c1")


class ErrorTests(SynchronousTestCase):
    """Errors name the method and the cause; only the §7.1 cases are retried."""

    def test_rpc_error_not_retried(self):
        """A JSON-RPC error other than -32603 fails at once as ``L1RpcError``."""
        client, resource, _, stub = scripted_client(
            [(200, {"error": {"code": 3, "message": "execution reverted", "data": "0x"}})]
        )
        e = self.assertRaises(L1RpcError, run, stub, client.request("eth_call", []))
        self.assertEqual(e.code, 3)
        self.assertEqual(str(e), "L1 eth_call failed: JSON-RPC error 3: execution reverted")
        self.assertEqual(len(resource.requests), 1)
        self.assertTrue(client.health.reachable)

    def test_retry_then_success(self):
        """503 then -32603 then an answer: two retries after 200 ms each, then success."""
        script = [(503, b"busy"), (200, {"error": {"code": -32603, "message": "x"}}), OK]
        client, resource, clock, stub = scripted_client(script)
        d = client.request("eth_blockNumber", [])
        stub.flush()
        self.assertEqual(len(resource.requests), 1)
        clock.advance(0.2)
        stub.flush()
        self.assertEqual(len(resource.requests), 2)
        clock.advance(0.2)
        self.assertEqual(run(stub, d), "0x10")
        self.assertEqual(len(resource.requests), 3)
        self.assertTrue(client.health.reachable)

    def test_retries_exhausted(self):
        """Three 502s: the third failure is the error; L1 is reported unreachable."""
        client, resource, clock, stub = scripted_client([(502, b"")] * 3)
        d = client.request("eth_blockNumber", [])
        for _ in range(2):
            stub.flush()
            clock.advance(0.2)
        e = self.assertRaises(L1Error, run, stub, d)
        self.assertIn("eth_blockNumber failed: HTTP 502 from http://l1.test/", str(e))
        self.assertEqual(len(resource.requests), 3)
        self.assertFalse(client.health.reachable)
        self.assertEqual(client.health.problems(), [f"L1 unreachable: {e.cause}"])

    def test_http_404_not_retried(self):
        """An HTTP status outside the retry list fails at once."""
        client, resource, _, stub = scripted_client([(404, b"no")])
        e = self.assertRaises(L1Error, run, stub, client.request("eth_chainId", []))
        self.assertIn("HTTP 404", str(e))
        self.assertEqual(len(resource.requests), 1)

    def test_timeout(self):
        """An endpoint that never answers: a timeout per attempt, retried, then an error."""
        client, resource, clock, stub = scripted_client(["hang"] * 3, timeout=1.0)
        d = client.request("eth_blockNumber", [])
        for _ in range(3):
            stub.flush()
            clock.advance(1.0)
            clock.advance(0.2)
        e = self.assertRaises(L1Error, run, stub, d)
        self.assertIn("no answer from http://l1.test/ within 1 s", str(e))
        self.assertEqual(len(resource.requests), 3)
        self.assertFalse(client.health.reachable)

    def test_not_json(self):
        """A body that is not JSON is a clear error."""
        client, _, _, stub = scripted_client([(200, b"<html>")])
        e = self.assertRaises(L1Error, run, stub, client.request("eth_chainId", []))
        self.assertIn("answer is not JSON", str(e))

    def test_bad_hex_result(self):
        """A helper that meets a non-hex result says what it got."""
        client, _, _, stub = scripted_client([(200, {"result": 12})])
        e = self.assertRaises(L1Error, run, stub, client.block_number())
        self.assertIn("expected a hex quantity, got 12", str(e))

    def test_undecodable_return(self):
        """``call_function`` names the function whose answer does not decode."""
        client, _, _, stub = scripted_client([(200, {"result": "0x01"})])
        d = client.call_function(bytes(20), "g()", returns=["uint256"])
        e = self.assertRaises(L1Error, run, stub, d)
        self.assertIn("g returned 1 bytes that are not", str(e))


class StallTests(SynchronousTestCase):
    def test_stalled_request_is_a_problem_before_it_fails(self):
        """An L1 that accepts but never answers is reported after 5 s, long before the three
        attempts time out; when the request ends the stall is over."""
        client, _, clock, stub = scripted_client(["hang"] * 3, timeout=10.0)
        d = client.request("eth_blockNumber", [])
        stub.flush()
        clock.advance(4)
        self.assertEqual(client.health.problems(), [])
        clock.advance(2)
        self.assertEqual(client.health.problems(), ["L1 not answering for 6 s"])
        self.assertEqual(client.health.as_json()["stalled_for"], 6.0)
        for _ in range(3):
            stub.flush()
            clock.advance(10)
            clock.advance(0.2)
        self.assertRaises(L1Error, run, stub, d)
        self.assertEqual(client.health.stalled_for(), 0.0)
        self.assertEqual(len(client.health.problems()), 1)
        self.assertIn("L1 unreachable: no answer", client.health.problems()[0])


class _NeverAnswers:
    """An HTTP client whose requests never answer; cancelling one fails it (like treq)."""

    def __init__(self):
        self.pending = []

    def post(self, url, **kwargs):
        d = defer.Deferred()
        self.pending.append(d)
        return d


class CancelTests(SynchronousTestCase):
    def test_caller_cancel_is_not_retried(self):
        """A request the caller cancels (a service stopping) fails with CancelledError at once
        and leaves no back-off timer behind (it was retried, which left a dirty reactor)."""
        clock = Clock()
        client = L1Client("http://l1", reactor=clock, http_client=_NeverAnswers(), timeout=10.0)
        d = client.request("eth_blockNumber", [])
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual(client.health.problems(), [])
