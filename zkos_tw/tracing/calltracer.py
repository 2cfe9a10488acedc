"""Geth's ``callTracer``: the tree of call frames (``onlyTopCall``, ``withLog``).

Fields as geth's ``callFrame`` JSON: ``type, from, gas, gasUsed, to, input, output, error,
revertReason, logs, value, calls``; empty ones omitted as geth omits them.
"""

from __future__ import annotations

from zkos_tw.tracing.abi import revert_reason
from zkos_tw.tracing.base import BaseTracer
from zkos_tw.tracing.opcodes import CREATE, CREATE2, DELEGATECALL, STATICCALL, op_name


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


class CallTracer(BaseTracer):
    """Builds the call tree; ``result()`` is geth's JSON object."""

    def __init__(self, config: dict | None = None):
        config = config or {}
        self.only_top_call = bool(config.get("onlyTopCall", False))
        self.with_log = bool(config.get("withLog", False))
        self.stack: list[dict] = []
        self.root: dict | None = None
        self.gas_limit = 0
        # Geth's log ``index``: the log's index in the block; a failed frame's logs give their
        # indexes back (the state journal's revert), so ``emitted`` counts per open frame.
        self.log_index = 0
        self.emitted: list[int] = []

    def on_tx_start(self, gas_limit: int, first_log_index: int = 0) -> None:
        self.gas_limit = gas_limit
        self.log_index = first_log_index

    def on_enter(self, depth, kind, caller, to, data, gas, value) -> None:
        self.emitted.append(0)
        if self.only_top_call and depth > 0:
            return
        frame = {
            "type": op_name(kind),
            "from": _hex(caller),
            "gas": hex(self.gas_limit if depth == 0 else gas),
            "gasUsed": "0x0",
            "to": _hex(to),
            "input": _hex(data),
        }
        if kind not in (DELEGATECALL, STATICCALL):
            frame["value"] = hex(value)
        self.stack.append(frame)

    def on_exit(self, depth, output, gas_used, error, reverted) -> None:
        emitted = self.emitted.pop()
        if error is not None:
            self.log_index -= emitted
        elif self.emitted:
            self.emitted[-1] += emitted
        if self.only_top_call and depth > 0:
            return
        frame = self.stack.pop()
        frame["gasUsed"] = hex(gas_used)
        _process_output(frame, output, error, reverted)
        if self.stack:
            self.stack[-1].setdefault("calls", []).append(frame)
        else:
            self.root = frame

    def on_log(self, log) -> None:
        index = self.log_index
        self.log_index += 1
        if self.emitted:
            self.emitted[-1] += 1
        if not self.with_log or not self.stack or len(self.stack) < len(self.emitted):
            return
        frame = self.stack[-1]
        frame.setdefault("logs", []).append(
            {
                "address": _hex(log.address),
                "topics": [_hex(t) for t in log.topics],
                "data": _hex(log.data),
                "index": hex(index),
                "position": hex(len(frame.get("calls", ()))),
            }
        )

    def on_tx_end(self, gas_used: int) -> None:
        if self.root is not None:
            self.root["gasUsed"] = hex(gas_used)
            if self.with_log:
                _clear_failed_logs(self.root, False)

    def result(self):
        return self.root


def _process_output(frame: dict, output: bytes, error, reverted: bool) -> None:
    """Geth's ``callFrame.processOutput``."""
    if error is None:
        frame["output"] = _hex(output)
        return
    frame["error"] = error
    if frame["type"] in (op_name(CREATE), op_name(CREATE2)):
        del frame["to"]
    if not reverted or not output:
        return
    frame["output"] = _hex(output)
    reason = revert_reason(output)
    if reason is not None:
        frame["revertReason"] = reason


def _clear_failed_logs(frame: dict, parent_failed: bool) -> None:
    """Logs of failed frames (and of frames inside them) are dropped, as geth does."""
    failed = parent_failed or "error" in frame
    if failed:
        frame.pop("logs", None)
    for child in frame.get("calls", ()):
        _clear_failed_logs(child, failed)
