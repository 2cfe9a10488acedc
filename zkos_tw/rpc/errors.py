"""JSON-RPC errors: the protocol errors of JSON-RPC 2.0 and jsonrpsee, and the errors a backend raises.

Every error the server sends is a ``JsonRpcError``; ``zkos_tw.rpc.dispatch`` turns it into the
``error`` member of a response in one place. Backends (``IRpcBackend``) raise
``BackendError`` (code -32603, the message is the reference's exact text) or
``ExecutionReverted`` (code 3, ``execution reverted[: reason]`` with the raw revert data as hex).
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
EXECUTION_REVERTED = 3
# jsonrpsee's implementation-defined server errors (jsonrpsee-types error.rs).
OVERSIZED_REQUEST = -32007
OVERSIZED_RESPONSE = -32008
TOO_BIG_BATCH_REQUEST = -32010
TOO_BIG_BATCH_RESPONSE = -32011

_ERROR_SELECTOR = bytes.fromhex("08c379a0")
_PANIC_SELECTOR = bytes.fromhex("4e487b71")
# alloy-sol-types PanicKind::as_str, so that panic reasons read as in the reference node.
_PANIC_KINDS = {
    0x00: "generic/unspecified error",
    0x01: "assertion failed",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "failed to convert value into enum type",
    0x22: "storage byte array incorrectly encoded",
    0x31: "called `.pop()` on an empty array",
    0x32: "array out-of-bounds access",
    0x41: "memory allocation error",
    0x51: "called an invalid internal function",
}


class JsonRpcError(Exception):
    """An error response: ``code``, ``message`` and optional ``data`` (any JSON value)."""

    code = INTERNAL_ERROR

    def __init__(self, message: str, data: Any = None, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.data = data
        if code is not None:
            self.code = code

    def to_json(self) -> dict:
        """The JSON-RPC ``error`` object."""
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(JsonRpcError):
    """The body is not JSON (-32700)."""

    code = PARSE_ERROR

    def __init__(self, detail: str | None = None):
        super().__init__("Parse error", detail)


class InvalidRequest(JsonRpcError):
    """JSON, but not a JSON-RPC 2.0 request object (-32600)."""

    code = INVALID_REQUEST

    def __init__(self, detail: str | None = None):
        super().__init__("Invalid request", detail)


class MethodNotFound(JsonRpcError):
    """No such method (-32601)."""

    code = METHOD_NOT_FOUND

    def __init__(self, method: str | None = None):
        super().__init__("Method not found")


class InvalidParams(JsonRpcError):
    """The params do not decode (-32602); ``detail`` says which and why (sent as ``data``)."""

    code = INVALID_PARAMS

    def __init__(self, detail: str):
        super().__init__("Invalid params", detail)


class SubscriptionParamsError(JsonRpcError):
    """``eth_subscribe`` params that do not fit the kind (-32602 with the reference's message)."""

    code = INVALID_PARAMS


class BackendError(JsonRpcError):
    """A handler or backend error: code -32603, ``message`` is the reference's exact text.

    Backends raise it (or a subclass) for every failure a client should see, e.g.
    ``BackendError("failed to decode signed transaction")`` or the mempool's
    ``"[0x<hash>]: transaction nonce is not consistent: next nonce 3, tx nonce 1"``.
    """

    code = INTERNAL_ERROR

    def __init__(self, message: str):
        super().__init__(message)


class Unimplemented(BackendError):
    """A method the reference registers but does not implement."""

    def __init__(self):
        super().__init__("unimplemented")


class BlockNotFound(BackendError):
    """A state read at a block above the tip: ``block N not found``."""

    def __init__(self, number: int):
        super().__init__(f"block {number} not found")
        self.number = number


class ExecutionReverted(JsonRpcError):
    """``eth_call`` / ``eth_estimateGas`` reverted: code 3, the reason decoded, the raw bytes as hex.

    ``output`` is the revert data (``bytes``). The message is ``execution reverted`` when no reason
    decodes, else ``execution reverted: <reason>`` (``Error(string)`` with alloy's ``revert: ``
    prefix stripped, ``Panic(uint256)`` as ``panic: <kind> (0x11)``, or UTF-8 text as is).
    """

    code = EXECUTION_REVERTED

    def __init__(self, output: bytes):
        self.output = bytes(output)
        reason = revert_reason(self.output)
        message = "execution reverted" if reason is None else f"execution reverted: {reason}"
        super().__init__(message, "0x" + self.output.hex())


def revert_reason(output: bytes) -> str | None:
    """The human reason of revert data as alloy decodes it, or ``None`` (empty or undecodable)."""
    if not output:
        return None
    if output[:4] == _ERROR_SELECTOR:
        text = _abi_string(output[4:])
        if text is not None:
            return text or "<empty>"
    if output[:4] == _PANIC_SELECTOR and len(output) >= 36:
        code = int.from_bytes(output[4:36], "big")
        kind = _PANIC_KINDS.get(code)
        if kind is not None:
            return f"panic: {kind} (0x{code:02x})"
        return f"panic: unknown code (0x{code:x})"
    try:
        return output.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _abi_string(data: bytes) -> str | None:
    """Decode one ABI ``string`` argument (head offset, length, bytes), leniently; ``None`` if bad."""
    if len(data) < 64:
        return None
    offset = int.from_bytes(data[:32], "big")
    if offset + 32 > len(data):
        return None
    length = int.from_bytes(data[offset : offset + 32], "big")
    start = offset + 32
    if start + length > len(data):
        return None
    try:
        return data[start : start + length].decode("utf-8")
    except UnicodeDecodeError:
        return None
