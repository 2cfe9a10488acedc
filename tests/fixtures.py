"""Where the shared fixtures are: ``../shared/fixtures`` beside the checkout, or ``$ZKOS_SHARED_DIR``.

Tests that need a fixture call ``fixture_path(...)``; it raises ``SkipTest`` with a clear message
when the folder is absent, so a checkout without ``shared/`` still runs every other test.
"""

import os

from twisted.trial.unittest import SkipTest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def shared_dir() -> str:
    """The shared/ folder: ``$ZKOS_SHARED_DIR`` or the one beside the repository."""
    return os.environ.get("ZKOS_SHARED_DIR") or os.path.join(os.path.dirname(REPO_ROOT), "shared")


def fixture_path(*parts: str) -> str:
    """Path of a file under shared/fixtures; skip the calling test when it is missing."""
    path = os.path.join(shared_dir(), "fixtures", *parts)
    if not os.path.exists(path):
        raise SkipTest(f"fixture {path} is absent (set ZKOS_SHARED_DIR to the shared/ folder)")
    return path
