"""Geth's ``prestateTracer`` (default mode): every account the transaction touches, as it was
before the transaction: ``{address: {balance, nonce, code, storage}}``.

Touched: the sender, the recipient (or the created contract), the coinbase, the targets of
the CALL family, BALANCE / EXTCODE* / SELFDESTRUCT operands, created contracts, and the slots
SLOAD / SSTORE use. Each is read at its first touch, which comes before anything in the
transaction changes it (a value is moved only after the CALL step that names the target).
Created accounts that were empty are left out, as geth does. Options: ``disableCode``,
``disableStorage``, ``diffMode``: ``{"pre", "post"}`` with only what changed (geth's
``processDiffState``: unchanged accounts and slots dropped, zero slots dropped from ``pre``,
``post`` has the changed fields only, a deleted account is in ``pre`` only).
"""

from __future__ import annotations

from zkos_tw.execution.interpreter import create2_address, create_address
from zkos_tw.execution.message import to_address
from zkos_tw.tracing.base import BaseTracer

SLOAD, SSTORE, BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH = 0x54, 0x55, 0x31, 0x3B, 0x3C, 0x3F
CALLS = (0xF1, 0xF2, 0xF4, 0xFA)
CREATE, CREATE2, SELFDESTRUCT = 0xF0, 0xF5, 0xFF


class PrestateTracer(BaseTracer):
    """Reads each touched account and slot once, at its first touch (needs steps)."""

    wants_steps = True

    def __init__(self, config: dict | None = None):
        config = config or {}
        self.diff_mode = bool(config.get("diffMode", False))
        self.disable_code = bool(config.get("disableCode", False))
        self.disable_storage = bool(config.get("disableStorage", False))
        self.state = None
        self.pre: dict[bytes, dict] = {}
        self.empty: set[bytes] = set()
        self.created: set[bytes] = set()
        self.raw: dict[bytes, tuple] = {}  # address -> (balance, nonce, code, {slot: value})
        self.post: dict[bytes, dict] = {}

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
        self.raw[address] = (balance, nonce, code, {})
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
                value = self.state.get_storage(me, stack[-1])
                slots[key] = f"0x{value:064x}"
                self.raw[me][3][stack[-1]] = value
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

    def on_tx_end(self, gas_used: int) -> None:
        if self.diff_mode and self.state is not None:
            self._diff()
        for address in self.created:
            if address in self.empty:
                self.pre.pop(address, None)

    def _diff(self) -> None:
        state = self.state
        for address in list(self.pre):
            balance, nonce, code, slots = self.raw[address]
            if (balance or nonce or code) and not state.account_exists(address):
                continue  # deleted: in ``pre`` only
            post: dict = {}
            new_balance = state.get_balance(address)
            new_nonce = state.get_nonce(address)
            new_code = state.get_code(address)
            if new_balance != balance:
                post["balance"] = hex(new_balance)
            if new_nonce != nonce:
                post["nonce"] = new_nonce
            if new_code != code:
                post["code"] = "0x" + new_code.hex()
            modified = bool(post)
            pre_slots = self.pre[address].get("storage", {})
            for slot, value in slots.items():
                key = f"0x{slot:064x}"
                new_value = state.get_storage(address, slot)
                if value == 0 or new_value == value:
                    pre_slots.pop(key, None)
                if new_value != value:
                    modified = True
                    if new_value:
                        post.setdefault("storage", {})[key] = f"0x{new_value:064x}"
            if not pre_slots:
                self.pre[address].pop("storage", None)
            if modified:
                self.post[address] = post
            else:
                del self.pre[address]

    def result(self):
        pre = {"0x" + address.hex(): account for address, account in self.pre.items()}
        if not self.diff_mode:
            return pre
        return {"pre": pre, "post": {"0x" + a.hex(): p for a, p in self.post.items()}}
