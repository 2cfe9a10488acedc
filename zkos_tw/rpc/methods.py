"""The method table: JSON-RPC method name -> handler, with declared parameter types.

A namespace class marks its handlers with ``@rpc_method("eth_getBalance", "address",
"block_id", required=1)``; ``MethodTable.add_namespace`` collects them. Parameter type names are
those of ``zkos_tw.rpc.codec.PARAM_TYPES``. Params are positional: missing trailing optional
params (or ``null`` ones) reach the handler as ``None``; too many, too few or undecodable params
raise ``InvalidParams`` (-32602) naming the parameter.

Handlers may be plain functions or coroutines; ``connection=True`` handlers receive the calling
connection (a WebSocket session, or ``None`` over HTTP) as their first argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred

from zkos_tw.rpc.codec import PARAM_TYPES
from zkos_tw.rpc.errors import InvalidParams, MethodNotFound

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


@dataclass(frozen=True)
class MethodSpec:
    """One method: its name, parameter types, how many are required, and its handler."""

    name: str
    params: tuple[str, ...]
    required: int
    handler: Callable
    connection: bool = False
    websocket_only: bool = False

    def parse_params(self, params: Any) -> list:
        """Decode the request's ``params`` into the handler's positional arguments."""
        if params is None:
            params = []
        if isinstance(params, dict):
            raise InvalidParams("invalid type: map, expected positional parameters (an array)")
        if not isinstance(params, list):
            raise InvalidParams("invalid type: expected positional parameters (an array)")
        if len(params) > len(self.params):
            raise InvalidParams(
                f"too many parameters: {self.name} takes at most {len(self.params)}, "
                f"got {len(params)}"
            )
        parsed = []
        for index, type_name in enumerate(self.params):
            value = params[index] if index < len(params) else None
            if value is None:
                if index < self.required:
                    raise InvalidParams(
                        f"missing value for required parameter {index} ({type_name})"
                    )
                parsed.append(None)
                continue
            try:
                parsed.append(PARAM_TYPES[type_name](value))
            except InvalidParams as e:
                where = _ORDINALS[index] if index < len(_ORDINALS) else f"#{index}"
                raise InvalidParams(f"{where} parameter: {e.data}") from None
        return parsed


def rpc_method(
    name: str,
    *params: str,
    required: int | None = None,
    connection: bool = False,
    websocket_only: bool = False,
):
    """Mark a namespace method as the handler of JSON-RPC method ``name``.

    ``params`` are parameter type names; the first ``required`` (default: all) must be given.
    A handler may carry several names (aliases) by stacking the decorator.
    """
    for type_name in params:
        if type_name not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {type_name!r}")

    def mark(fn):
        specs = getattr(fn, "_rpc_methods", [])
        specs.append(
            (
                name,
                tuple(params),
                len(params) if required is None else required,
                connection,
                websocket_only,
            )
        )
        fn._rpc_methods = specs
        return fn

    return mark


class MethodTable:
    """Every method the server answers, by name."""

    def __init__(self):
        self._methods: dict[str, MethodSpec] = {}

    def register(self, spec: MethodSpec) -> None:
        """Add one method; a name may be registered only once."""
        if spec.name in self._methods:
            raise ValueError(f"method {spec.name} registered twice")
        self._methods[spec.name] = spec

    def add_namespace(self, namespace: object) -> None:
        """Register every ``@rpc_method`` handler of ``namespace`` (bound to it)."""
        for attribute in dir(type(namespace)):
            fn = getattr(type(namespace), attribute, None)
            for name, params, required, connection, ws_only in getattr(fn, "_rpc_methods", ()):
                self.register(
                    MethodSpec(
                        name, params, required, getattr(namespace, attribute), connection, ws_only
                    )
                )

    def names(self) -> list[str]:
        """All method names, sorted."""
        return sorted(self._methods)

    def get(self, name: str) -> MethodSpec | None:
        """The method called ``name``, or ``None``."""
        return self._methods.get(name)

    async def call(self, name: str, params: Any, connection=None) -> Any:
        """Decode ``params``, run the handler, and return its (awaited) result."""
        return await resolve(self.start(name, params, connection))

    def start(self, name: str, params: Any, connection=None) -> Any:
        """Decode ``params`` and run the handler: its result, or a Deferred of it (coroutine
        handlers are wrapped). Unknown methods and bad params raise at once."""
        spec = self._methods.get(name)
        if spec is None or (spec.websocket_only and connection is None):
            raise MethodNotFound(name)
        args = spec.parse_params(params)
        if spec.connection:
            args.insert(0, connection)
        result = spec.handler(*args)
        if inspect.iscoroutine(result):
            return Deferred.fromCoroutine(result)
        return result


async def resolve(value: Any) -> Any:
    """Await ``value`` if it is a Deferred or a coroutine; return it as is otherwise."""
    if isinstance(value, Deferred) or inspect.isawaitable(value):
        return await value
    return value
