"""Tracer names (geth's) -> a new tracer for one transaction."""

from __future__ import annotations

from zkos_tw.tracing.base import FourByteTracer, NoopTracer
from zkos_tw.tracing.calltracer import CallTracer
from zkos_tw.tracing.errors import unknown_tracer
from zkos_tw.tracing.prestate import PrestateTracer
from zkos_tw.tracing.structlog import StructLogger

TRACERS = {
    "callTracer": CallTracer,
    "noopTracer": NoopTracer,
    "4byteTracer": FourByteTracer,
    "prestateTracer": PrestateTracer,
}


def make_tracer(options: dict | None, *, precompiles=frozenset()):
    """The tracer ``options`` ask for (geth's ``TraceConfig``): ``tracer`` names one of
    ``TRACERS`` with ``tracerConfig``; no name: the struct logger with the logger options at the
    top level. An unknown name raises ``TraceError`` with geth's text."""
    options = options or {}
    name = options.get("tracer")
    if name is None or name == "":
        return StructLogger(options)
    factory = TRACERS.get(name)
    if factory is None:
        raise unknown_tracer(name)
    config = options.get("tracerConfig") or {}
    if factory is FourByteTracer:
        return FourByteTracer(config, precompiles=precompiles)
    return factory(config)
