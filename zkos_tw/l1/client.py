"""The one L1 JSON-RPC client: treq over an injected reactor, timeouts, retries, clear errors.

Retry policy (reference ``zksync-os-server.md`` §7.1): up to ``retries`` (2) more attempts after
``backoff`` (200 ms) each, on HTTP 429 / 500 / 502 / 503, on transport failures (connection
refused or lost, DNS, the request timing out), and on JSON-RPC error -32603. Anything else fails
at once. Every failure is an ``L1Error`` naming the method and the cause; a JSON-RPC error
object is an ``L1RpcError`` with its ``code`` (an ``eth_call`` revert is one of those).

The client reports each outcome to an ``L1Health`` (``zkos_tw.l1.health``), which the status
service reads. ABI helpers (``call_function``) use eth_abi as a codec only.
"""

from __future__ import annotations

import functools
import itertools
import json

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from twisted.internet import defer, error
from twisted.internet.task import deferLater
from twisted.web.client import RequestNotSent, RequestTransmissionFailed, ResponseFailed

from zkos_tw.hashing import keccak256
from zkos_tw.l1.health import L1Health

RETRY_HTTP_CODES = frozenset({429, 500, 502, 503})
RETRY_RPC_CODES = frozenset({-32603})
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 0.2
#: Bound on a response body, so a misbehaving endpoint cannot fill memory.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class L1Error(Exception):
    """An L1 request failed: ``method`` and a one-line ``cause``."""

    def __init__(self, method: str, cause: str):
        super().__init__(f"L1 {method} failed: {cause}")
        self.method = method
        self.cause = cause


class L1RpcError(L1Error):
    """The L1 node answered with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str, data=None):
        detail = f"JSON-RPC error {code}: {message}"
        if data and data != "0x":
            detail += f" (data {data})"
        super().__init__(method, detail)
        self.code = code
        self.rpc_message = message
        self.data = data


class _Retryable(Exception):
    """Internal: this attempt failed in a way the policy retries."""

    def __init__(self, failure: L1Error):
        super().__init__(str(failure))
        self.failure = failure


_TRANSPORT_ERRORS = (
    error.ConnectError,
    error.ConnectionLost,
    error.ConnectionRefusedError,
    error.DNSLookupError,
    error.TimeoutError,
    defer.TimeoutError,
    defer.CancelledError,
    ResponseFailed,
    RequestTransmissionFailed,
    RequestNotSent,
)


def selector(signature: str) -> bytes:
    """The 4-byte function selector of ``signature`` (e.g. ``"getZKChain(uint256)"``)."""
    return keccak256(signature.encode())[:4]


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def _from_hex(value, method: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise L1Error(method, f"expected a hex string, got {value!r}")
    try:
        return bytes.fromhex(value[2:] if len(value) % 2 == 0 else "0" + value[2:])
    except ValueError:
        raise L1Error(method, f"expected a hex string, got {value!r}") from None


def _quantity(value, method: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise L1Error(method, f"expected a hex quantity, got {value!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise L1Error(method, f"expected a hex quantity, got {value!r}") from None


def _returns_deferred(method):
    """Make an ``async def`` method return a ``Deferred`` (callers need not be coroutines)."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        return defer.Deferred.fromCoroutine(method(*args, **kwargs))

    return wrapper


def block_tag(block) -> str:
    """A block parameter: an ``int`` becomes a hex quantity; tags pass through."""
    return hex(block) if isinstance(block, int) else block


class L1Client:
    """JSON-RPC over HTTP POST to ``url`` with an injected ``reactor`` and treq-style
    ``http_client`` (``treq.client.HTTPClient`` or ``treq.testing.StubTreq``).

    Every method returns a ``Deferred`` (they are coroutines wrapped with
    ``Deferred.fromCoroutine``).
    """

    def __init__(
        self,
        url: str,
        *,
        reactor,
        http_client,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        health: L1Health | None = None,
    ):
        self.url = url
        self._reactor = reactor
        self._http = http_client
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._closed = False
        self._backoffs: set[defer.Deferred] = set()
        self.health = health if health is not None else L1Health(reactor)
        self._ids = itertools.count(1)
        #: The connection pool to close on shutdown (set by ``create_l1_client``).
        self.pool = None

    def close(self) -> defer.Deferred:
        """Close cached keep-alive connections (call on service stop)."""
        # A request that failed while its caller was cancelling it may be waiting to retry:
        # a closed client retries nothing and leaves no timer behind.
        self._closed = True
        for waiting in list(self._backoffs):
            waiting.cancel()
        if self.pool is None:
            return defer.succeed(None)
        return self.pool.closeCachedConnections()

    # -- transport -----------------------------------------------------------------------------

    def request(self, method: str, params: list) -> defer.Deferred:
        """Send one JSON-RPC request (with retries); fire with its ``result``."""
        token = self.health.started()
        d = defer.Deferred.fromCoroutine(self._request(method, params))

        def ended(result):
            self.health.ended(token)
            return result

        return d.addBoth(ended)

    async def _request(self, method: str, params: list):
        attempt = 0
        while True:
            try:
                result = await self._attempt(method, params)
            except _Retryable as retry:
                if attempt >= self.retries or self._closed:
                    self.health.failed(retry.failure.cause)
                    raise retry.failure from None
                attempt += 1
                waiting = deferLater(self._reactor, self.backoff, lambda: None)
                self._backoffs.add(waiting)
                try:
                    await waiting
                finally:
                    self._backoffs.discard(waiting)
                continue
            except L1Error as e:
                if not isinstance(e, L1RpcError):
                    self.health.failed(e.cause)
                else:
                    self.health.succeeded()
                raise
            self.health.succeeded()
            return result

    async def _attempt(self, method: str, params: list):
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        exchange = defer.Deferred.fromCoroutine(self._exchange(method, json.dumps(body).encode()))
        timed_out = []

        def on_timeout():
            timed_out.append(True)
            exchange.cancel()

        timer = self._reactor.callLater(self.timeout, on_timeout)
        try:
            code, content = await exchange
        except _TRANSPORT_ERRORS as e:
            if isinstance(e, defer.CancelledError) and not timed_out:
                raise  # the caller cancelled (a service stopping): not an L1 failure, no retry
            if timed_out:
                cause = f"no answer from {self.url} within {self.timeout:g} s"
            else:
                cause = f"cannot reach {self.url}: {_describe(e)}"
            raise _Retryable(L1Error(method, cause)) from None
        finally:
            if timer.active():
                timer.cancel()
        if code != 200:
            failure = L1Error(method, f"HTTP {code} from {self.url}")
            if code in RETRY_HTTP_CODES:
                raise _Retryable(failure)
            raise failure
        try:
            answer = json.loads(content)
        except ValueError:
            raise L1Error(method, f"answer is not JSON: {content[:80]!r}") from None
        if not isinstance(answer, dict):
            raise L1Error(method, f"answer is not a JSON-RPC object: {answer!r:.80}")
        if answer.get("error") is not None:
            err = answer["error"]
            if not isinstance(err, dict):
                raise L1Error(method, f"malformed error object: {err!r:.80}")
            failure = L1RpcError(method, err.get("code"), err.get("message", ""), err.get("data"))
            if failure.code in RETRY_RPC_CODES:
                raise _Retryable(failure)
            raise failure
        if "result" not in answer:
            raise L1Error(method, "answer has neither result nor error")
        return answer["result"]

    async def _exchange(self, method: str, payload: bytes):
        response = await self._http.post(
            self.url,
            data=payload,
            headers={b"Content-Type": [b"application/json"]},
            reactor=self._reactor,
        )
        content = await response.content()
        if len(content) > MAX_RESPONSE_BYTES:
            raise L1Error(method, f"answer larger than {MAX_RESPONSE_BYTES} bytes")
        return response.code, content

    # -- eth_ helpers --------------------------------------------------------------------------

    @_returns_deferred
    async def block_number(self) -> int:
        """``eth_blockNumber``."""
        return _quantity(await self.request("eth_blockNumber", []), "eth_blockNumber")

    @_returns_deferred
    async def chain_id(self) -> int:
        """``eth_chainId``."""
        return _quantity(await self.request("eth_chainId", []), "eth_chainId")

    @_returns_deferred
    async def call(self, to: bytes, data: bytes, block="latest") -> bytes:
        """``eth_call`` of ``data`` on ``to`` at ``block``; the returned bytes."""
        params = [{"to": _hex(to), "data": _hex(data)}, block_tag(block)]
        return _from_hex(await self.request("eth_call", params), "eth_call")

    @_returns_deferred
    async def call_function(
        self, to: bytes, signature: str, args=(), returns=(), block="latest"
    ) -> tuple:
        """Call ``signature`` (``"name(type,...)"``) with ABI-encoded ``args`` and decode the
        answer as ``returns`` (a list of ABI types)."""
        types = signature[signature.index("(") + 1 : -1]
        arg_types = [t for t in _split_types(types)]
        data = selector(signature) + abi_encode(arg_types, list(args))
        raw = await self.call(to, data, block)
        try:
            return tuple(abi_decode(list(returns), raw))
        except (DecodingError, ValueError, OverflowError) as e:
            name = signature.split("(")[0]
            raise L1Error(
                "eth_call", f"{name} returned {len(raw)} bytes that are not {returns}: {e}"
            ) from None

    @_returns_deferred
    async def get_code(self, address: bytes, block="latest") -> bytes:
        """``eth_getCode``."""
        params = [_hex(address), block_tag(block)]
        return _from_hex(await self.request("eth_getCode", params), "eth_getCode")

    @_returns_deferred
    async def get_logs(self, address: bytes, topics: list, from_block: int, to_block: int):
        """``eth_getLogs`` over ``[from_block, to_block]``; the list of log objects."""
        flt = {
            "address": _hex(address),
            "topics": [None if t is None else _hex(t) for t in topics],
            "fromBlock": block_tag(from_block),
            "toBlock": block_tag(to_block),
        }
        logs = await self.request("eth_getLogs", [flt])
        if not isinstance(logs, list):
            raise L1Error("eth_getLogs", f"expected a list of logs, got {logs!r:.80}")
        return logs

    @_returns_deferred
    async def get_transaction_receipt(self, tx_hash: bytes):
        """``eth_getTransactionReceipt``: the receipt object, or ``None`` while pending."""
        return await self.request("eth_getTransactionReceipt", [_hex(tx_hash)])

    @_returns_deferred
    async def send_raw_transaction(self, raw: bytes) -> bytes:
        """``eth_sendRawTransaction``; the transaction hash."""
        result = await self.request("eth_sendRawTransaction", [_hex(raw)])
        return _from_hex(result, "eth_sendRawTransaction")


def _split_types(types: str) -> list[str]:
    """Split a comma-separated ABI type list at the top level (tuples keep their commas)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(types):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(types[start:i])
            start = i + 1
    if types[start:]:
        out.append(types[start:])
    return out


def _describe(e: Exception) -> str:
    if isinstance(e, (ResponseFailed, RequestTransmissionFailed)):
        reasons = "; ".join(r.getErrorMessage() for r in e.reasons) or "response failed"
        return reasons
    return str(e) or type(e).__name__


try:
    from twisted.web.client import _HTTP11ClientFactory

    class _QuietClientFactory(_HTTP11ClientFactory):
        noisy = False

except ImportError:  # pragma: no cover - a Twisted without the private name: keep the default
    from twisted.web.client import HTTPConnectionPool as _Pool

    _QuietClientFactory = _Pool._factory


def create_l1_client(url: str, reactor, *, health: L1Health | None = None, **options) -> L1Client:
    """An ``L1Client`` over a real ``treq.client.HTTPClient`` on ``reactor``."""
    from treq.client import HTTPClient
    from twisted.web.client import Agent, HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=True)
    pool._factory = _QuietClientFactory  # no "Starting factory" line per new connection
    http = HTTPClient(Agent(reactor, pool=pool))
    client = L1Client(url, reactor=reactor, http_client=http, health=health, **options)
    client.pool = pool
    return client
