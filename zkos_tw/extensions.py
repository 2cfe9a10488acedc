"""The one dispatcher between compiled extensions (``ext/*.pyx``) and their pure-Python twins.

``ZKOS_NO_EXTENSIONS=1`` forces every pure path. ``ZKOS_REQUIRE_EXTENSIONS=1`` turns a missing
extension into an ``ImportError`` at import time instead of a silent fallback.
``EXTENSION_LOADED`` is true when every extension asked for so far came from the compiled module.

A component picks its implementation like this::

    from zkos_tw.extensions import load
    _impl = load("_hashing", "zkos_tw.hashing._pure")
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


NO_EXTENSIONS: bool = _flag("ZKOS_NO_EXTENSIONS")
REQUIRE_EXTENSIONS: bool = _flag("ZKOS_REQUIRE_EXTENSIONS")

# name -> True when the compiled module was loaded, False when the pure twin was.
LOADED: dict[str, bool] = {}
EXTENSION_LOADED: bool = False


def load(name: str, pure: str) -> ModuleType:
    """Return ``zkos_tw._ext.<name>`` if it can and may be used, else the module ``pure``."""
    global EXTENSION_LOADED
    module = None
    if not NO_EXTENSIONS:
        try:
            module = importlib.import_module("zkos_tw._ext." + name)
        except ImportError as e:
            if REQUIRE_EXTENSIONS:
                raise ImportError(
                    f"ZKOS_REQUIRE_EXTENSIONS is set but the extension zkos_tw._ext.{name} "
                    f"did not load ({e}); rebuild with `pip install .` and a C compiler"
                ) from e
    LOADED[name] = module is not None
    EXTENSION_LOADED = all(LOADED.values())
    return module if module is not None else importlib.import_module(pure)


def describe() -> dict[str, str]:
    """Which implementation each loaded component uses, for logs and ``--version`` output."""
    return {name: ("cext" if compiled else "pure") for name, compiled in sorted(LOADED.items())}
