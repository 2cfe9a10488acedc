"""Geth's ``prestateTracer`` (default mode): every account the transaction touches, as it was
before the transaction: ``{address: {balance, nonce, code, storage}}``.

Touched: the sender, the recipient (or the created contract), the coinbase, the targets of
the CALL family, BALANCE / EXTCODE* / SELFDESTRUCT operands, created contracts, and the slots
SLOAD / SSTORE use. Each is read at its first touch, which comes before anything in the
transaction changes it (a value is moved only after the CALL step that names the target).
Created accounts that were empty are left out, as geth does. ``diffMode`` is not done yet: it
is refused with a clear error. Options: ``disableCode``, ``disableStorage``.
"""

from __future__ import annotations

from zkos_tw.execution.interpreter import create2_address, create_address
from zkos_tw.execution.message import to_address
from zkos_tw.tracing.base import BaseTracer
from zkos_tw.tracing.errors import TraceError

SLOAD, SSTORE, BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH = 0x54, 0x55, 0x31, 0x3B, 0x3C, 0x3F
CALLS = (0xF1, 0xF2, 0xF4, 0xFA)
CREATE, CREATE2, SELFDESTRUCT = 0xF0, 0xF5, 0xFF


class PrestateTracer(BaseTracer):
    """Reads each touched account and slot once, at its first touch (needs steps)."""

    wants_steps = True

    def __init__(self, config: dict | None = None):
        config = config or {}
        if config.get("diffMode"):
            raise TraceError("prestateTracer diffMode is not supported yet")
        self.disable_code = bool(config.get("disableCode", False))
        self.disable_storage = bool(config.get("disableStorage", False))
        self.state = None
        self.pre: dict[bytes, dict] = {}
        self.empty: set[bytes] = set()
        self.created: set[bytes] = set()

    def on_tx_context(self, state, sender: bytes, to: bytes, coinbase: bytes, creates: bool):
        self.state = state
        for address in (sender, to, coinbase):
            self._account(address)
        if creates:
            self.created.add(to)

    def _account(self, address: bytes) -> None:
        if address in self.pre:
            return
        state = self.state
        balance = state.get_balance(address)
        nonce = state.get_nonce(address)
        code = state.get_code(address)
        account = {"balance": hex(balance)}
        if nonce:
            account["nonce"] = nonce
        if code and not self.disable_code:
            account["code"] = "0x" + code.hex()
        self.pre[address] = account
        if not (balance or nonce or code):
            self.empty.add(address)

    def on_step(self, evm, op: int, depth: int) -> None:
        stack = evm.stack
        if op in (SLOAD, SSTORE) and stack:
            if self.disable_storage:
                return
            me = evm.message.current_target
            self._account(me)
            slots = self.pre[me].setdefault("storage", {})
            key = f"0x{stack[-1]:064x}"
            if key not in slots:
                slots[key] = f"0x{self.state.get_storage(me, stack[-1]):064x}"
        elif op in (BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH, SELFDESTRUCT) and stack:
            self._account(to_address(stack[-1]))
        elif op in CALLS and len(stack) >= 2:
            self._account(to_address(stack[-2]))
        elif op == CREATE:
            me = evm.message.current_target
            address = create_address(me, self.state.get_nonce(me))
            self._account(address)
            self.created.add(address)
        elif op == CREATE2 and len(stack) >= 4:
            start, size, salt = stack[-2], stack[-3], stack[-4]
            if start + size <= len(evm.memory):  # else the step grows memory: read after
                code = bytes(evm.memory[start : start + size])
            else:
                code = bytes(evm.memory[start:]).ljust(size, b"\0")
            address = create2_address(evm.message.current_target, salt, code)
            self._account(address)
            self.created.add(address)

    def result(self):
        for address in self.created:
            if address in self.empty:
                self.pre.pop(address, None)
        return {"0x" + address.hex(): account for address, account in self.pre.items()}
