"""Geth's default tracer, the struct logger: one entry per instruction.

Options (geth's ``logger.Config``): ``disableStack``, ``enableMemory``, ``disableStorage``,
``enableReturnData``, ``limit`` (0: no limit; entries past it are not kept, execution goes on).
The result is ``{"gas", "failed", "returnValue", "structLogs"}``. ``gasCost`` is what the
instruction charged; for the CALL family it includes the gas given to the child (without the
stipend) and for CREATE / CREATE2 it does not, as geth. ``storage`` is shown on SLOAD / SSTORE
steps only: the slots of the running contract read or written so far in the transaction.
"""

from __future__ import annotations

from zkos_tw.tracing.base import BaseTracer
from zkos_tw.tracing.opcodes import CREATE, CREATE2, FRAME_OPENERS, op_name

SLOAD, SSTORE = 0x54, 0x55


class StructLogger(BaseTracer):
    """Collects ``structLogs``; needs every instruction (``wants_steps``)."""

    wants_steps = True

    def __init__(self, config: dict | None = None):
        config = config or {}
        self.disable_stack = bool(config.get("disableStack", False))
        self.enable_memory = bool(config.get("enableMemory", False))
        self.disable_storage = bool(config.get("disableStorage", False))
        self.enable_return_data = bool(config.get("enableReturnData", False))
        self.limit = int(config.get("limit", 0) or 0)
        self.logs: list[dict] = []
        self.open: list[tuple] = []  # (entry, gas before, op, frame, depth), unfinished
        self.storage: dict[bytes, dict[str, str]] = {}
        self.gas_used = 0
        self.output = b""
        self.failed = False

    def on_step(self, evm, op: int, depth: int) -> None:
        gas = evm.gas_left
        entry = None
        if not self.limit or len(self.logs) < self.limit:
            entry = {"pc": evm.pc, "op": op_name(op), "gas": gas, "gasCost": 0, "depth": depth}
            if not self.disable_stack:
                entry["stack"] = [hex(v) for v in evm.stack]
            if self.enable_memory:
                memory = bytes(evm.memory)
                entry["memory"] = [memory[i : i + 32].hex() for i in range(0, len(memory), 32)]
            if self.enable_return_data and evm.return_data:
                entry["returnData"] = "0x" + evm.return_data.hex()
            if evm.refund_counter:
                entry["refund"] = evm.refund_counter
            if not self.disable_storage and op in (SLOAD, SSTORE) and evm.stack:
                self._storage(evm, op, entry)
            self.logs.append(entry)
        self.open.append((entry, gas, op, evm, depth))

    def _storage(self, evm, op, entry) -> None:
        slots = self.storage.setdefault(evm.message.current_target, {})
        key = evm.stack[-1]
        if op == SLOAD:
            value = evm.state.get_storage(evm.message.current_target, key)
        elif len(evm.stack) >= 2:
            value = evm.stack[-2]
        else:
            return
        slots[f"{key:064x}"] = f"{value:064x}"
        entry["storage"] = dict(slots)

    def on_step_done(self, evm) -> None:
        entry, gas, op, _, _ = self.open.pop()
        if entry is not None and (op not in FRAME_OPENERS or not entry["gasCost"]):
            entry["gasCost"] = gas - evm.gas_left

    def on_enter(self, depth, kind, caller, to, data, gas, value) -> None:
        if depth == 0 or not self.open:
            return
        entry, before, op, parent, _ = self.open[-1]
        if entry is not None:
            charged = before - parent.gas_left
            entry["gasCost"] = charged - gas if op in (CREATE, CREATE2) else charged

    def on_exit(self, depth, output, gas_used, error, reverted) -> None:
        if error is not None and self.open and self.open[-1][4] == depth + 1:
            # The instruction that failed (a halt raises out of it: no on_step_done). A halt
            # charges all the gas left: its cost is shown as that.
            entry, gas, op, evm, _ = self.open.pop()
            if entry is not None:
                entry["error"] = error
                if not entry["gasCost"]:
                    entry["gasCost"] = gas - evm.gas_left if reverted else gas
        if depth == 0:
            self.output = output
            self.failed = error is not None

    def on_tx_end(self, gas_used: int) -> None:
        self.gas_used = gas_used

    def result(self):
        return {
            "gas": self.gas_used,
            "failed": self.failed,
            "returnValue": "0x" + self.output.hex(),
            "structLogs": self.logs,
        }
