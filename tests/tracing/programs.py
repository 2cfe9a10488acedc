"""Small hand-assembled contracts and one signed transaction to trace them (tracing tests)."""

from __future__ import annotations

from eth_account import Account
from eth_utils import to_checksum_address

from tests.execution.evm_helpers import CONTRACT, OTHER, block_env, push
from zkos_tw.execution.engines import by_name
from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.testing import MemoryState

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
SENDER = bytes.fromhex("36615Cf349d7F6344891B1e7CA7C72883F5dc049")
REVERTER = bytes.fromhex("000000000000000000000000000000000000dead")
SHA256 = (2).to_bytes(20, "big")

LOG0, LOG1, MSTORE, RETURN, REVERT, POP = 0xA0, 0xA1, 0x52, 0xF3, 0xFD, 0x50
CALL, STATICCALL, SSTORE, SLOAD = 0xF1, 0xFA, 0x55, 0x54


def op(*codes: int) -> bytes:
    return bytes(codes)


def call(to: bytes, *, kind=CALL, gas=0xFFFF, value=0, in_size=0, out_size=32) -> bytes:
    """Push the arguments of a CALL / STATICCALL and run it (result left on the stack)."""
    code = push(out_size) + push(0) + push(in_size) + push(0)
    if kind == CALL:
        code += push(value)
    return code + push(int.from_bytes(to, "big"), 20) + push(gas) + op(kind)


#: Emits LOG1(topic 0xaa), stores slot 1 = 7, returns the word 0x2a.
LOGGER = (
    push(0xAA) + push(0) + push(0) + op(LOG1)
    + push(7) + push(1) + op(SSTORE)
    + push(0x2A) + push(0) + op(MSTORE) + push(32) + push(0) + op(RETURN)
)  # fmt: skip

#: Reverts with Error("nope").
NOPE = (
    push(0x08C379A0 << 224, 32) + push(0) + op(MSTORE)
    + push(0x20) + push(4) + op(MSTORE)
    + push(4) + push(36) + op(MSTORE)
    + push(int.from_bytes(b"nope".ljust(32, b"\0"), "big"), 32) + push(68) + op(MSTORE)
    + push(100) + push(0) + op(REVERT)
)  # fmt: skip


def root(logger: bytes, reverter: bytes) -> bytes:
    """LOG0, CALL ``logger``, STATICCALL ``reverter``, CALL SHA256 with 4 bytes of input, then
    return the logger's word (memory 0..32)."""
    return (
        push(0) + push(0) + op(LOG0)
        + call(logger) + op(POP)
        + call(reverter, kind=STATICCALL, out_size=0) + op(POP)
        + call(SHA256, in_size=4, out_size=0) + op(POP)
        + push(32) + push(0) + op(RETURN)
    )  # fmt: skip


ROOT = root(OTHER, REVERTER)


def init_code(runtime: bytes) -> bytes:
    """Creation code that deploys ``runtime``: CODECOPY it after itself and RETURN it."""
    n = len(runtime)
    return (
        bytes([0x61]) + n.to_bytes(2, "big") + bytes([0x60, 14, 0x60, 0, 0x39])
        + bytes([0x61]) + n.to_bytes(2, "big") + bytes([0x60, 0, 0xF3]) + runtime
    )  # fmt: skip


def pre_state() -> MemoryState:
    state = MemoryState()
    state.set_account(SENDER, balance=10**20)
    state.set_account(CONTRACT, code=ROOT)
    state.set_account(OTHER, code=LOGGER)
    state.set_account(REVERTER, code=NOPE)
    return state


def signed(to: bytes | None, *, data=b"", gas=300_000, value=0, nonce=0):
    """``(tx, sender)`` for a signed EIP-1559 transaction from ``SENDER``."""
    fields = {
        "value": value,
        "gas": gas,
        "nonce": nonce,
        "chainId": 1,
        "maxFeePerGas": 100,
        "maxPriorityFeePerGas": 1,
        "data": data,
    }
    if to is not None:
        fields["to"] = to_checksum_address(to)
    raw = bytes(Account.from_key(KEY).sign_transaction(fields).raw_transaction)
    tx = decode_transaction(raw)
    return tx, recover_sender(tx)


def environment(engine: str, state=None):
    """A block environment over ``state`` (default: ``pre_state()``) on the named loop."""
    return block_env(state if state is not None else pre_state(), engine=by_name(engine))


def engines_available() -> list[str]:
    """``["pure", "cext"]``, or only ``["pure"]`` when the compiled loop is not built."""
    from zkos_tw.execution.engines import CEXT

    return ["pure", "cext"] if CEXT is not None else ["pure"]
