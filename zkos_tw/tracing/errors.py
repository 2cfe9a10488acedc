"""Geth's texts for execution errors (``error`` of call frames and struct logs), and the
errors of the trace methods themselves."""

from __future__ import annotations

from zkos_tw.execution import exceptions as ex
from zkos_tw.tracing.opcodes import op_name

_TEXTS = {
    ex.OutOfGas: "out of gas",
    ex.StackUnderflow: "stack underflow",
    ex.StackOverflow: "stack limit reached 1024 (1023)",
    ex.InvalidJumpDestination: "invalid jump destination",
    ex.WriteInStaticContext: "write protection",
    ex.OutOfBoundsRead: "return data out of bounds",
    ex.InvalidContractPrefix: "invalid code: must not begin with 0xef",
    ex.AddressCollision: "contract address collision",
    ex.PrecompileError: "out of gas",
    ex.Revert: "execution reverted",
}

#: Frames that never ran (geth still reports them, with these errors).
DEPTH_EXCEEDED = "max call depth exceeded"
INSUFFICIENT_BALANCE = "insufficient balance for transfer"
NONCE_OVERFLOW = "nonce uint64 overflow"
CODE_STORE_OUT_OF_GAS = "contract creation code storage out of gas"
MAX_CODE_SIZE_EXCEEDED = "max code size exceeded"


def error_text(error) -> str:
    """Geth's ``err.Error()`` for one of the execution exceptions."""
    if isinstance(error, ex.InvalidOpcode):
        op = error.args[0] if error.args else 0xFE
        return f"invalid opcode: {op_name(op)}"
    for kind in type(error).__mro__:
        text = _TEXTS.get(kind)
        if text is not None:
            return text
    return str(error) or type(error).__name__


class TraceError(Exception):
    """A trace method fails with this message (JSON-RPC error -32000, as geth)."""


def unknown_tracer(name: str) -> TraceError:
    """Geth's answer to a tracer name it does not know."""
    del name  # geth names no tracer in the text
    return TraceError("tracer not found")


TIMEOUT = "execution timeout"
TOO_MANY = "too many concurrent traces: at most {limit} run at once, try again later"
