"""Geth's state overrides for ``debug_traceCall``: ``{address: {balance, nonce, code,
stateDiff}}`` written into the throw-away state view before the call runs.

``state`` (replace all the storage of an account) is refused: the ZKsync OS state view has no
way to list an account's slots to clear them; ``stateDiff`` (set some slots) works.
"""

from __future__ import annotations

from zkos_tw.rpc.codec import parse_address, parse_data, parse_quantity
from zkos_tw.rpc.errors import InvalidParams

_FIELDS = {"balance", "nonce", "code", "state", "stateDiff", "movePrecompileToAddress"}


def parse_overrides(value) -> list[tuple]:
    """``[(address, balance, nonce, code, {slot: value})]``; ``InvalidParams`` when malformed."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise InvalidParams("invalid type: state overrides must be an object")
    parsed = []
    for key, account in value.items():
        address = parse_address(key)
        if not isinstance(account, dict):
            raise InvalidParams(f"invalid override for account {key}")
        unknown = set(account) - _FIELDS
        if unknown:
            raise InvalidParams(f"unknown field `{sorted(unknown)[0]}` in override of {key}")
        if "state" in account and "stateDiff" in account:
            raise InvalidParams(f"account {key} has both 'state' and 'stateDiff'")
        if account.get("state") is not None:
            raise InvalidParams(
                f"override of {key}: 'state' (replace all storage) is not supported, use "
                "'stateDiff'"
            )
        if account.get("movePrecompileToAddress") is not None:
            raise InvalidParams("movePrecompileToAddress is not supported")
        balance = account.get("balance")
        nonce = account.get("nonce")
        code = account.get("code")
        diff = account.get("stateDiff") or {}
        if not isinstance(diff, dict):
            raise InvalidParams(f"override of {key}: 'stateDiff' must be an object")
        parsed.append(
            (
                address,
                None if balance is None else parse_quantity(balance, "balance"),
                None if nonce is None else parse_quantity(nonce, "nonce", 2**64 - 1),
                None if code is None else parse_data(code, what="code"),
                {
                    int.from_bytes(parse_data(k, 32, "slot"), "big"): int.from_bytes(
                        parse_data(v, 32, "value"), "big"
                    )
                    for k, v in diff.items()
                },
            )
        )
    return parsed


def apply_overrides(state, overrides) -> None:
    """Write parsed overrides into ``state`` (a state view to be thrown away)."""
    for address, balance, nonce, code, diff in overrides:
        if balance is not None:
            state.set_balance(address, balance)
        if nonce is not None:
            state.set_nonce(address, nonce)
        if code is not None:
            state.set_code(address, code)
        for slot, value in diff.items():
            state.set_storage(address, slot, value)
