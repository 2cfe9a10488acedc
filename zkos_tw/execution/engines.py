"""Which instruction loop runs a frame: the pure-Python reference or the compiled twin.

Both are ``execute_code(message, block_env, tx_env) -> Frame`` with identical results.

* ``PURE``: ``zkos_tw.execution.interpreter.execute_code`` (the spec).
* ``CEXT``: ``zkos_tw._ext._evm.execute_code`` (``ext/_evm.pyx``), or ``None`` when the compiled
  module is not built or ``ZKOS_NO_EXTENSIONS=1``.
* ``DEFAULT``: the one ``zkos_tw.extensions.load("_evm", ...)`` picks (``CEXT`` when loaded;
  ``ZKOS_REQUIRE_EXTENSIONS=1`` makes a missing module an ``ImportError`` at import time).
* ``EXTENSION_LOADED``: true when ``DEFAULT`` is the compiled loop.

A block picks its loop with ``BlockEnvironment(..., engine=by_name("pure"))``; child frames
(CALL family, CREATE) run on the loop of their block, so one process can run both side by side.
"""

from __future__ import annotations

from zkos_tw.execution import interpreter as _pure_module
from zkos_tw.extensions import load

PURE = _pure_module.execute_code

_impl = load("_evm", "zkos_tw.execution.interpreter")
EXTENSION_LOADED: bool = _impl is not _pure_module
CEXT = _impl.execute_code if EXTENSION_LOADED else None
DEFAULT = CEXT if EXTENSION_LOADED else PURE

NAMES = ("cext", "pure")


def by_name(name: str):
    """``"pure"`` or ``"cext"`` (``"default"`` too) -> an ``execute_code``; ``ValueError`` when
    the name is unknown or the compiled loop is not available."""
    if name == "pure":
        return PURE
    if name == "default":
        return DEFAULT
    if name == "cext":
        if CEXT is None:
            raise ValueError(
                "the compiled EVM (zkos_tw._ext._evm) is not loaded; build it with "
                "`python setup.py build_ext --inplace` or `pip install .`"
            )
        return CEXT
    raise ValueError(f"unknown EVM engine {name!r}; choose one of {', '.join(NAMES)}")


def name_of(engine) -> str:
    """``"cext"`` or ``"pure"`` for an ``execute_code`` (for logs and reports)."""
    return "cext" if engine is not None and engine is CEXT else "pure"
