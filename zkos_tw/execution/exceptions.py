"""Typed errors of the EVM: exceptional halts of a frame, reverts, and invalid transactions.

An ``ExceptionalHalt`` ends a call frame, consumes all of its gas and undoes its state changes.
``Revert`` also undoes the frame's changes but hands the remaining gas back. An
``InvalidTransaction`` is raised before any state change; its message names the rule it broke.
"""


class EvmError(Exception):
    """Base class of every error raised by the execution layer."""


class ExceptionalHalt(EvmError):
    """The frame stops, consumes all its gas and its state changes are rolled back."""


class StackUnderflow(ExceptionalHalt):
    """An instruction popped more items than the stack holds."""


class StackOverflow(ExceptionalHalt):
    """The stack grew beyond 1024 items."""


class OutOfGas(ExceptionalHalt):
    """The frame needed more gas than it had left."""


class InvalidOpcode(ExceptionalHalt):
    """The byte at the program counter is not an instruction of the fork (or is INVALID, 0xfe)."""


class InvalidJumpDestination(ExceptionalHalt):
    """JUMP or JUMPI to a position that is not a JUMPDEST outside push data."""


class WriteInStaticContext(ExceptionalHalt):
    """A state-changing instruction ran inside a STATICCALL."""


class OutOfBoundsRead(ExceptionalHalt):
    """RETURNDATACOPY read past the end of the return data (EIP-211)."""


class InvalidContractPrefix(ExceptionalHalt):
    """A create returned code starting with 0xef (EIP-3541)."""


class AddressCollision(ExceptionalHalt):
    """The address of a new contract already has code, a nonce or storage (EIP-684, EIP-7610)."""


class PrecompileError(ExceptionalHalt):
    """A precompiled contract failed (bad input or not enough gas)."""


class Revert(EvmError):
    """REVERT: roll back the frame but return the gas left and the output."""


class InvalidTransaction(EvmError):
    """The transaction breaks a validity rule; the message names the rule. State is untouched."""


class InvalidTransactionEncoding(InvalidTransaction):
    """The transaction bytes do not decode (bad RLP, wrong field count or size, bad signature)."""
