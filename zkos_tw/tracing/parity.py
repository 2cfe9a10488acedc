"""Parity / OpenEthereum flat traces (the ``trace_`` namespace) as anvil and reth print them, and
the ``stateDiff`` of ``trace_replayTransaction``.

``ParityTracer`` records the tree of frames from the execution events (it needs no steps: the
compiled loop runs) and flattens it depth first: one entry per frame with ``action`` (a call:
``from, callType, gas, input, to, value``; a create: ``from, gas, init, value,
creationMethod``), ``result`` (``gasUsed, output``; ``address, code, gasUsed``; ``null`` when
the frame failed other than by REVERT), ``error`` (revm's parity texts: ``Reverted``,
``Out of gas``, ...), ``subtraces`` and ``traceAddress``. A SELFDESTRUCT is one more entry,
``type: "suicide"``, the last child of its frame. ``localize`` adds ``blockHash, blockNumber,
transactionHash, transactionPosition``.

Values follow revm-inspectors: a frame's ``gas`` is what it was given (the top frame: the gas
limit minus the intrinsic gas), ``gasUsed`` what it used before refunds (a create's includes
the code deposit). ``exclude`` names addresses whose frames are left out with everything below
them (the replay leaves out precompile calls, as anvil and reth do there).

With ``state_diff=True`` the tracer also reads, at the end, what the transaction changed in the
state view (``FlatState.writes_since``) and gives reth's ``stateDiff``: for every account with a
changed field or slot, ``balance``, ``code``, ``nonce`` each ``"="`` (unchanged) or
``{"*": {"from", "to"}}``, and ``storage`` with the changed slots; an account the transaction
created where there was nothing has ``{"+": value}`` everywhere, an account that disappeared
``{"-": value}``.
"""

from __future__ import annotations

from zkos_tw.state.account import EMPTY_ACCOUNT
from zkos_tw.tracing import errors
from zkos_tw.tracing.base import BaseTracer
from zkos_tw.tracing.opcodes import CALL, CALLCODE, CREATE, CREATE2, DELEGATECALL, STATICCALL

CALL_TYPES = {
    CALL: "call",
    CALLCODE: "callcode",
    DELEGATECALL: "delegatecall",
    STATICCALL: "staticcall",
}
CREATION_METHODS = {CREATE: "create", CREATE2: "create2"}

#: Geth's error texts (``zkos_tw.tracing.errors``) -> revm-inspectors' parity texts.
_PARITY_ERRORS = {
    "execution reverted": "Reverted",
    "out of gas": "Out of gas",
    errors.CODE_STORE_OUT_OF_GAS: "Out of gas",
    "stack limit reached 1024 (1023)": "Out of stack",
    "stack underflow": "StackUnderflow",
    "invalid jump destination": "Bad jump destination",
    "write protection": "StateChangeDuringStaticCall",
    "return data out of bounds": "OutOfOffset",
    "invalid code: must not begin with 0xef": "CreateContractStartingWithEF",
    "contract address collision": "CreateCollision",
    errors.DEPTH_EXCEEDED: "CallTooDeep",
    errors.INSUFFICIENT_BALANCE: "OutOfFunds",
    errors.NONCE_OVERFLOW: "NonceOverflow",
    errors.MAX_CODE_SIZE_EXCEEDED: "CreateContractSizeLimit",
}


def parity_error(text: str) -> str:
    """The parity text of one of geth's execution error texts."""
    if text.startswith("invalid opcode"):
        return "Bad instruction"
    return _PARITY_ERRORS.get(text, text)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


class _Frame:
    """One call or create between ``on_enter`` and ``on_exit``."""

    __slots__ = ("kind", "caller", "to", "data", "gas", "value", "output", "gas_used",
                 "error", "reverted", "children", "skip")  # fmt: skip

    def __init__(self, kind, caller, to, data, gas, value, skip):
        self.kind = kind
        self.caller = caller
        self.to = to
        self.data = data
        self.gas = gas
        self.value = value
        self.output = b""
        self.gas_used = 0
        self.error = None
        self.reverted = False
        self.children: list = []
        self.skip = skip

    def entry(self, trace_address: list[int], subtraces: int) -> dict:
        if self.kind in CREATION_METHODS:
            kind = "create"
            action = {
                "from": _hex(self.caller),
                "gas": hex(self.gas),
                "init": _hex(self.data),
                "value": hex(self.value),
                "creationMethod": CREATION_METHODS[self.kind],
            }
            result = {"address": _hex(self.to), "code": _hex(self.output),
                      "gasUsed": hex(self.gas_used)}  # fmt: skip
        else:
            kind = "call"
            action = {
                "from": _hex(self.caller),
                "callType": CALL_TYPES[self.kind],
                "gas": hex(self.gas),
                "input": _hex(self.data),
                "to": _hex(self.to),
                "value": hex(self.value),
            }
            result = {"gasUsed": hex(self.gas_used), "output": _hex(self.output)}
        entry = {"action": action}
        if self.error is not None:
            entry["error"] = parity_error(self.error)
            if not self.reverted:
                result = None
        entry["result"] = result
        entry["subtraces"] = subtraces
        entry["traceAddress"] = trace_address
        entry["type"] = kind
        return entry


class _Selfdestruct:
    """A SELFDESTRUCT: no frame of its own, an entry after its frame's children."""

    __slots__ = ("address", "beneficiary", "balance")
    skip = False
    children = ()

    def __init__(self, address, beneficiary, balance):
        self.address = address
        self.beneficiary = beneficiary
        self.balance = balance

    def entry(self, trace_address: list[int], subtraces: int) -> dict:
        return {
            "action": {
                "address": _hex(self.address),
                "refundAddress": _hex(self.beneficiary),
                "balance": hex(self.balance),
            },
            "result": None,
            "subtraces": 0,
            "traceAddress": trace_address,
            "type": "suicide",
        }


class ParityTracer(BaseTracer):
    """Flat traces of one transaction (``traces()``), and its ``stateDiff`` when asked."""

    def __init__(self, *, exclude=frozenset(), state_diff: bool = False):
        self.exclude = exclude
        self.with_state_diff = state_diff
        self.stack: list[_Frame] = []
        self.root: _Frame | None = None
        self.created: set[bytes] = set()
        self.state = None
        self.mark = None
        self.diff: dict | None = None

    def on_tx_context(self, state, sender, to, coinbase, creates) -> None:
        if self.with_state_diff:
            if not hasattr(state, "write_mark"):
                raise errors.TraceError("stateDiff needs the node's state view")
            self.state = state
            self.mark = state.write_mark()

    def on_enter(self, depth, kind, caller, to, data, gas, value) -> None:
        parent = self.stack[-1] if self.stack else None
        skip = (parent is not None and parent.skip) or (kind in CALL_TYPES and to in self.exclude)
        frame = _Frame(kind, caller, to, data, gas, value, skip)
        if kind in CREATION_METHODS:
            self.created.add(to)
        if parent is not None:
            parent.children.append(frame)
        else:
            self.root = frame
        self.stack.append(frame)

    def on_exit(self, depth, output, gas_used, error, reverted) -> None:
        frame = self.stack.pop()
        frame.output = output
        frame.gas_used = gas_used
        frame.error = error
        frame.reverted = reverted

    def on_selfdestruct(self, address, beneficiary, balance) -> None:
        if self.stack:
            self.stack[-1].children.append(_Selfdestruct(address, beneficiary, balance))

    def on_tx_end(self, gas_used: int) -> None:
        if self.with_state_diff and self.state is not None:
            accounts, slots = self.state.writes_since(self.mark)
            self.diff = state_diff(self.state, accounts, slots, self.created)

    # -- results --------------------------------------------------------------------------------

    def traces(self) -> list[dict]:
        """The flat traces, depth first (without the block and transaction fields)."""
        out: list[dict] = []
        if self.root is not None:
            _flatten(self.root, [], out)
        return out

    def output(self) -> bytes:
        """The top frame's output (``0x`` when it failed other than by REVERT)."""
        root = self.root
        if root is None or (root.error is not None and not root.reverted):
            return b""
        return root.output

    def result(self):
        return self.traces()


def _flatten(node, trace_address: list[int], out: list[dict]) -> None:
    children = [child for child in node.children if not child.skip]
    out.append(node.entry(trace_address, len(children)))
    for index, child in enumerate(children):
        _flatten(child, [*trace_address, index], out)


def localize(entry: dict, block_hash: bytes, block_number: int, tx_hash: bytes, position: int):
    """One flat trace with its block and transaction, in reth's field order."""
    out = {"action": entry["action"], "blockHash": _hex(block_hash), "blockNumber": block_number}
    if "error" in entry:
        out["error"] = entry["error"]
    out["result"] = entry["result"]
    out["subtraces"] = entry["subtraces"]
    out["traceAddress"] = entry["traceAddress"]
    out["transactionHash"] = _hex(tx_hash)
    out["transactionPosition"] = position
    out["type"] = entry["type"]
    return out


def _delta(before, after, fmt) -> str | dict:
    if before == after:
        return "="
    return {"*": {"from": fmt(before), "to": fmt(after)}}


def _word(value: int) -> str:
    return f"0x{value:064x}"


def state_diff(state, accounts: dict, slots: dict, created: set) -> dict:
    """Reth's ``stateDiff`` of the changes ``FlatState.writes_since`` gave (see the module
    docstring); ``created``: the addresses the transaction's creates used."""
    by_address: dict[bytes, dict[int, tuple[int, int]]] = {}
    for (address, slot), change in slots.items():
        by_address.setdefault(address, {})[slot] = change
    diff = {}
    for address in sorted(set(accounts) | set(by_address)):
        record = state.get_account(address)
        before, after = accounts.get(address, (record, record))
        changed_slots = by_address.get(address, {})
        code_before = state.record_code(before)
        code_after = state.record_code(after)
        if address in created and before == EMPTY_ACCOUNT:
            sign, values = "+", (after, code_after, 1)
        elif after == EMPTY_ACCOUNT and before != EMPTY_ACCOUNT:
            sign, values = "-", (before, code_before, 0)
        else:
            sign = None
        if sign is not None:
            account, code, side = values
            diff[_hex(address)] = {
                "balance": {sign: hex(account.balance)},
                "code": {sign: _hex(code)},
                "nonce": {sign: hex(account.nonce)},
                "storage": {
                    _word(slot): {sign: _word(change[side])}
                    for slot, change in sorted(changed_slots.items())
                },
            }
            continue
        entry = {
            "balance": _delta(before.balance, after.balance, hex),
            "code": _delta(code_before, code_after, _hex),
            "nonce": _delta(before.nonce, after.nonce, hex),
            "storage": {
                _word(slot): {"*": {"from": _word(old), "to": _word(new)}}
                for slot, (old, new) in sorted(changed_slots.items())
            },
        }
        if entry["storage"] or any(entry[k] != "=" for k in ("balance", "code", "nonce")):
            # (A record can change in fields no client shows: the code's versioning data.)
            diff[_hex(address)] = entry
    return diff
