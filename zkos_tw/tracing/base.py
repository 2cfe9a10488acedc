"""The do-nothing base of tracers: every ``ITracer`` event, ignored (subclasses override)."""

from __future__ import annotations

from zope.interface import implementer

from zkos_tw.interfaces import ITracer


@implementer(ITracer)
class BaseTracer:
    """Ignores every event; ``wants_steps`` false (the compiled loop may run)."""

    wants_steps = False

    def on_tx_start(self, gas_limit: int, first_log_index: int = 0) -> None:
        pass

    def on_tx_context(self, state, sender, to, coinbase, creates) -> None:
        pass

    def on_enter(self, depth, kind, caller, to, data, gas, value) -> None:
        pass

    def on_exit(self, depth, output, gas_used, error, reverted) -> None:
        pass

    def on_log(self, log) -> None:
        pass

    def on_selfdestruct(self, address, beneficiary, balance) -> None:
        pass

    def on_step(self, evm, op: int, depth: int) -> None:
        pass

    def on_step_done(self, evm) -> None:
        pass

    def on_tx_end(self, gas_used: int) -> None:
        pass

    def result(self):
        return None


class NoopTracer(BaseTracer):
    """Geth's ``noopTracer``: runs the transaction, answers ``{}``."""

    def __init__(self, config: dict | None = None):
        pass

    def result(self):
        return {}


class FourByteTracer(BaseTracer):
    """Geth's ``4byteTracer``: ``"0xselector-size": count`` for every call with 4+ bytes of
    input (size: the input after the selector); creates and precompiles are not counted."""

    def __init__(self, config: dict | None = None, *, precompiles=frozenset()):
        self.counts: dict[str, int] = {}
        self.precompiles = precompiles

    def on_enter(self, depth, kind, caller, to, data, gas, value) -> None:
        from zkos_tw.tracing.opcodes import CREATE, CREATE2

        if kind in (CREATE, CREATE2) or len(data) < 4 or to in self.precompiles:
            return
        key = f"0x{data[:4].hex()}-{len(data) - 4}"
        self.counts[key] = self.counts.get(key, 0) + 1

    def result(self):
        return dict(self.counts)
