"""Put this checkout on ``sys.path`` for the benchmark scripts that use the test helpers.

The scripts run as ``python benchmarks/<name>.py``, so this folder is ``sys.path[0]`` and this
module imports before anything of the checkout does.
"""

from __future__ import annotations

import importlib.util
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def use_checkout() -> None:
    """Make ``tests.integration`` (and ``zkos_tw``, unless one is importable already) importable.

    An installed build (a tox env's, with its own extensions) wins over the checkout's
    ``zkos_tw``; the checkout then only adds the test helpers.
    """
    if REPO_ROOT not in sys.path:
        if importlib.util.find_spec("zkos_tw") is None:
            sys.path.insert(0, REPO_ROOT)
        else:
            sys.path.append(REPO_ROOT)
