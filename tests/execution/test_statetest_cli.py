"""``zkosctl statetest``: options, output lines and the closing summary."""

import io
import json
import os
import signal
import sys
import tarfile

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import fixture_path
from zkos_tw.cli import statetest

EXAMPLE = "GeneralStateTests/stExample/add11.json"


def run_cli(argv):
    """Parse ``argv`` like zkosctl does and run; return ``(exit_code, stdout, stderr)``."""
    options = statetest.Options()
    options.parseOptions(argv)
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = statetest.run(options)
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


class StateTestCommandTests(SynchronousTestCase):
    """The command runs files and folders and reports one JSON line per case."""

    def setUp(self):
        archive = fixture_path("ethereum-tests", "GeneralStateTests.tgz")
        self.folder = self.mktemp()
        os.makedirs(self.folder)
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.getmember(EXAMPLE)
            data = tar.extractfile(member).read()
        self.path = os.path.join(self.folder, "add11.json")
        with open(self.path, "wb") as f:
            f.write(data)

    def test_one_line_per_case_and_summary(self):
        """Each case prints the documented keys; the last line counts passes and failures."""
        code, out, _ = run_cli([self.path])
        lines = out.splitlines()
        self.assertEqual(code, 0)
        self.assertEqual(lines[-1], f"{len(lines) - 1} passed, 0 failed, 0 skipped")
        case = json.loads(lines[0])
        self.assertEqual(
            set(case),
            {"file", "name", "fork", "indexes", "pass", "expected_root", "root", "error", "ms"},
        )
        self.assertTrue(case["pass"])
        self.assertEqual(case["root"], case["expected_root"])

    def test_folder_json_summary_and_other_fork(self):
        """A folder is walked; --json adds a JSON summary; a fork without post-states skips."""
        code, out, _ = run_cli(["--json", "--fork", "London", self.folder])
        lines = out.splitlines()
        self.assertEqual(json.loads(lines[-2])["skipped"], 1)
        self.assertEqual(lines[-1], "0 passed, 0 failed, 1 skipped")
        self.assertEqual(code, 0)

    def test_cext_matches_pure(self):
        """--cext passes the same cases as --pure (a clear usage error when it is not built)."""
        from zkos_tw.execution import engines

        if engines.CEXT is None:
            error = self.assertRaises(usage.UsageError, run_cli, ["--cext", self.path])
            self.assertIn("not loaded", str(error))
            return
        code, out, _ = run_cli(["--cext", self.path])
        pure_code, pure_out, _ = run_cli(["--pure", self.path])
        self.assertEqual((code, out.splitlines()[-1]), (0, pure_out.splitlines()[-1]))
        self.assertEqual(pure_code, 0)

    def test_pure_and_cext_exclude_each_other(self):
        """--pure with --cext is a usage error."""
        self.assertRaises(
            usage.UsageError, statetest.Options().parseOptions, ["--pure", "--cext", "x"]
        )

    def test_bad_options(self):
        """An unknown fork and a missing path are usage errors."""
        self.assertRaises(
            usage.UsageError, statetest.Options().parseOptions, ["--fork", "Nope", "x"]
        )
        self.assertRaises(usage.UsageError, statetest.Options().parseOptions, [])

    def test_not_run_files_count_as_failures(self):
        """A file listed in ``not_run`` is reported failed, with the reason, without running."""
        [(name, results, skipped, _)] = list(
            statetest.run_paths([self.path], not_run={"add11.json": "too slow"})
        )
        self.assertTrue(results)
        self.assertEqual({r["pass"] for r in results}, {False})
        self.assertEqual(results[0]["error"], "not run: too slow")
        self.assertEqual(results[0]["name"], "add11")

    def test_parallel_run_matches_serial(self):
        """-j 2 gives the same results as one process."""
        serial = [r for _, rs, _, _ in statetest.run_paths([self.folder]) for r in rs]
        parallel = [r for _, rs, _, _ in statetest.run_paths([self.folder], jobs=2) for r in rs]
        key = lambda r: (r["name"], sorted(r["indexes"].items()), r["root"])  # noqa: E731
        self.assertEqual(sorted(map(key, serial)), sorted(map(key, parallel)))

    def test_parallel_run_ends_under_a_reactor_sigterm_handler(self):
        """With a SIGTERM handler that does not exit (what a Twisted reactor installs, and
        what a forked pool child inherits), a -j 2 run still ends: the pool's children take
        the default SIGTERM back, so ``Pool.terminate`` does not wait forever."""
        previous = signal.signal(signal.SIGTERM, lambda *_: None)
        self.addCleanup(signal.signal, signal.SIGTERM, previous)
        results = [r for _, rs, _, _ in statetest.run_paths([self.folder], jobs=2) for r in rs]
        self.assertTrue(results)
        self.assertTrue(all(r["pass"] for r in results))

    def test_pool_children_take_the_default_sigterm(self):
        """The pool's initializer gives a child the default SIGTERM (so terminate ends it)
        and Python's SIGINT handler, whatever the parent had installed."""
        saved = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
        self.addCleanup(signal.signal, signal.SIGTERM, saved[0])
        self.addCleanup(signal.signal, signal.SIGINT, saved[1])
        signal.signal(signal.SIGTERM, lambda *_: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        statetest._default_signals()
        self.assertIs(signal.getsignal(signal.SIGTERM), signal.SIG_DFL)
        self.assertIs(signal.getsignal(signal.SIGINT), signal.default_int_handler)
