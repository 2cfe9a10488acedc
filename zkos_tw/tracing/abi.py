"""Revert data decoding as geth's ``abi.UnpackRevert``: ``Error(string)`` and ``Panic(uint256)``."""

from __future__ import annotations

ERROR_SELECTOR = bytes.fromhex("08c379a0")
PANIC_SELECTOR = bytes.fromhex("4e487b71")

#: Geth's ``abi.panicReasons``.
PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesslice",
    0x41: "out of memory",
    0x51: "uninitialized function",
}


def revert_reason(output: bytes) -> str | None:
    """The reason in revert data, or None when it is neither ``Error`` nor ``Panic``."""
    if len(output) < 4:
        return None
    selector, body = output[:4], output[4:]
    if selector == ERROR_SELECTOR:
        if len(body) < 64:
            return None
        offset = int.from_bytes(body[:32], "big")
        if offset + 32 > len(body):
            return None
        size = int.from_bytes(body[offset : offset + 32], "big")
        if offset + 32 + size > len(body):
            return None
        try:
            return body[offset + 32 : offset + 32 + size].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if selector == PANIC_SELECTOR and len(body) >= 32:
        code = int.from_bytes(body[:32], "big")
        reason = PANIC_REASONS.get(code)
        return reason if reason is not None else f"unknown panic code: {code:#x}"
    return None
