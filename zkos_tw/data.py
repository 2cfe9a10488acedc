"""The data files that ship with the package: genesis, dev genesis, the L1 state, L1 artifacts.

In a checkout they live at the top (``genesis.json``, ``dev-genesis.json``,
``zkos-l1-state.json``) and in ``contracts/l1/build``; the wheel build (``setup.py``) copies them
into ``zkos_tw/data/`` (``l1-build/`` for the artifacts), where ``importlib.resources`` finds them
in an installed package. ``path(name)`` answers the installed copy first, else the checkout's, so
the defaults work from any directory; an explicit path given by the user always wins.
"""

from __future__ import annotations

import os
from importlib import resources

#: Shipped name -> where it lives in a checkout (relative to the repository root).
FILES = {
    "genesis.json": "genesis.json",
    "dev-genesis.json": "dev-genesis.json",
    "zkos-l1-state.json": "zkos-l1-state.json",
    "l1-build": os.path.join("contracts", "l1", "build"),
}


def repo_root() -> str:
    """The checkout this package would run from (``zkos_tw/..``)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def path(name: str) -> str:
    """The file or folder ``name`` (a key of ``FILES``): the installed copy, else the checkout's."""
    installed = resources.files("zkos_tw") / "data" / name
    if installed.is_file() or installed.is_dir():
        return str(installed)
    return os.path.join(repo_root(), FILES[name])
