"""tools/test_summary.py: the closing count CI reads, and the failures repeated at the end."""

import importlib.util
from pathlib import Path

from twisted.trial import unittest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "test_summary.py"

LOG = """\
lint: commands[0]> ruff check zkos_tw tests
py311-cext: commands[0] /x/run> python -b -m twisted.trial tests
tests.a
  T
    test_x ...                                                           [FAIL]
===============================================================================
[SKIPPED]
not today

tests.b.T.test_s
===============================================================================
[FAIL]
Traceback (most recent call last):
  File "x.py", line 3, in test_x
    self.assertEqual(1, 2)
twisted.trial.unittest.FailTest: 1 != 2

tests.a.T.test_x
-------------------------------------------------------------------------------
Ran 3 tests in 1.0s

FAILED (skips=1, failures=1, successes=1)
py312-cext: commands[0] /y/run> python -b -m twisted.trial tests
===============================================================================
[ERROR]
Traceback (most recent call last):
builtins.OSError: port in use

tests.c.T.test_y
-------------------------------------------------------------------------------
Ran 2 tests in 1.0s

FAILED (errors=1, successes=1)
"""


def load_script():
    spec = importlib.util.spec_from_file_location("test_summary_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SummaryTests(unittest.TestCase):
    def setUp(self):
        if not SCRIPT.exists():
            raise unittest.SkipTest(f"{SCRIPT} is not next to the tests (installed tests?)")
        self.script = load_script()
        self.lines = LOG.splitlines(keepends=True)

    def test_counts_add_up_over_runs(self):
        self.assertEqual(self.script.summarize(self.lines), (2, 2, 2, 1))

    def test_failures_name_env_kind_and_test(self):
        found = self.script.failures(self.lines)
        self.assertEqual(
            [(env, kind) for env, kind, _ in found],
            [("py311-cext", "[FAIL]"), ("py312-cext", "[ERROR]")],
        )
        self.assertIn("tests.a.T.test_x", found[0][2])
        self.assertIn("twisted.trial.unittest.FailTest: 1 != 2", found[0][2])
        self.assertIn("tests.c.T.test_y", found[1][2])

    def test_skips_are_not_failures(self):
        bodies = [line for _, _, body in self.script.failures(self.lines) for line in body]
        self.assertNotIn("tests.b.T.test_s", bodies)
