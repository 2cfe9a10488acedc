"""``zkosctl`` usage errors: options before or after positional arguments, and every wrong use
exits 2 with one line naming the problem and one usage line, never a traceback."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import fixture_path
from zkos_tw.cli import main as cli_main
from zkos_tw.cli import statetest

ADDRESS = "0x" + "11" * 20

# command -> (bad option, missing argument, bad value) argument lists, each after the command.
CASES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "version": (["--bogus"], ["extra"], ["--json=yes"]),
    "statetest": (["--bogus", "x.json"], ["--json"], ["--fork", "Nope", "x.json"]),
    "config": (["--bogus"], ["--config"], ["--config", "/nonexistent/zkos.toml"]),
    "genesis": (["--bogus", "g.json"], [], ["/nonexistent/genesis.json"]),
    "bench": (["tree", "--bogus"], ["evm", "--repeat"], ["tree", "--leaves", "many"]),
    "l1": (["build-state", "--bogus"], [], ["build-state", "--chain-id", "-1"]),
    "deposit": (["--bogus"], ["--to", ADDRESS], ["--amount", "lots", "--to", ADDRESS]),
    "load": (["--bogus"], ["--senders"], ["--senders", "x"]),
    "keygen": (["--bogus", "key"], [], ["/nonexistent/dir/node.key"]),
    "prover": (["--bogus"], ["--api"], ["--api", "ftp://h:1"]),
}


def run_main(testcase, argv: list[str]) -> tuple[int, str, str]:
    """Run ``zkosctl argv`` in this process; return ``(exit code, stdout, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    testcase.patch(sys, "stdout", out)
    testcase.patch(sys, "stderr", err)
    code = cli_main.main(argv)
    return code, out.getvalue(), err.getvalue()


class UsageErrorTests(SynchronousTestCase):
    """For each subcommand: a bad option, a missing argument and a bad value."""

    def check_usage_error(self, argv: list[str]) -> str:
        code, out, err = run_main(self, argv)
        self.assertEqual(code, 2, (argv, err))
        self.assertEqual(out, "")
        self.assertNotIn("Traceback", err)
        problem, usage_line = err.splitlines()
        self.assertTrue(problem.startswith(f"zkosctl {argv[0]}"), problem)
        self.assertTrue(usage_line.startswith(f"Usage: zkosctl {argv[0]}"), usage_line)
        return problem

    def test_every_command_is_covered(self):
        """The table names every command, so a new command cannot skip these checks."""
        self.assertEqual(set(CASES), set(cli_main.COMMANDS))

    def test_bad_option(self):
        """An unknown option is named."""
        for name, (argv, _, _) in CASES.items():
            self.assertIn("--bogus", self.check_usage_error([name, *argv]))

    def test_missing_argument(self):
        """A missing positional argument or option value exits 2."""
        for name, (_, argv, _) in CASES.items():
            self.check_usage_error([name, *argv])

    def test_bad_value(self):
        """A value the command cannot use exits 2 before any work starts."""
        for name, (_, _, argv) in CASES.items():
            self.check_usage_error([name, *argv])

    def test_subcommand_errors_name_the_subcommand(self):
        """``l1 build-state`` errors carry the subcommand in both lines."""
        problem = self.check_usage_error(["l1", "build-state", "--chain-id", "-1"])
        self.assertEqual(problem, "zkosctl l1 build-state: --chain-id must be positive")
        _, _, err = run_main(self, ["bench", "evm", "--repeat"])
        self.assertTrue(err.splitlines()[1].startswith("Usage: zkosctl bench evm [--json]"))

    def test_unknown_subcommand(self):
        """An unknown subcommand is named; the usage line lists the known ones."""
        problem = self.check_usage_error(["bench", "nope"])
        self.assertIn("'nope'", problem)
        _, _, err = run_main(self, ["bench", "nope"])
        self.assertIn("tree|evm|all", err)


class ReorderTests(SynchronousTestCase):
    """``reorder`` moves options before positional arguments, like GNU getopt."""

    def test_options_after_paths(self):
        """Flags and values after the paths move to the front; ``--`` keeps the paths."""
        self.assertEqual(
            cli_main.reorder(statetest.Options(), ["a.json", "--json", "-j", "2", "b", "--fork=X"]),
            ["--json", "-j", "2", "--fork", "X", "--", "a.json", "b"],
        )

    def test_no_positionals(self):
        """Without positional arguments there is no ``--``."""
        self.assertEqual(cli_main.reorder(statetest.Options(), ["--json"]), ["--json"])

    def test_dash_path_after_separator(self):
        """An argument after ``--`` stays positional even when it starts with ``-``."""
        self.assertEqual(
            cli_main.reorder(statetest.Options(), ["--", "-odd.json", "--json"]),
            ["--", "-odd.json", "--json"],
        )

    def test_missing_value_is_a_usage_error(self):
        """getopt's error becomes a ``UsageError``."""
        self.assertRaises(usage.UsageError, cli_main.reorder, statetest.Options(), ["x", "-j"])


class StatetestOptionOrderTests(SynchronousTestCase):
    """``statetest PATH --json`` runs exactly like ``statetest --json PATH``."""

    def setUp(self):
        archive = fixture_path("ethereum-tests", "GeneralStateTests.tgz")
        self.path = os.path.join(self.mktemp(), "add11.json")
        os.makedirs(os.path.dirname(self.path))
        with tarfile.open(archive, "r:gz") as tar:
            data = tar.extractfile("GeneralStateTests/stExample/add11.json").read()
        with open(self.path, "wb") as f:
            f.write(data)

    def run_untimed(self, argv):
        code, out, err = run_main(self, argv)
        lines = out.splitlines()
        records = [json.loads(line) for line in lines[:-1]]
        for record in records:
            record.pop("ms", None)
            record.pop("seconds", None)
        return code, records, lines[-1], err

    def test_json_after_path(self):
        """Same exit code, case lines, JSON summary and closing line either way."""
        after = self.run_untimed(["statetest", self.path, "--json"])
        before = self.run_untimed(["statetest", "--json", self.path])
        self.assertEqual(after, before)
        code, records, last, _ = after
        self.assertEqual(code, 0)
        self.assertEqual(records[-1]["failed"], 0)
        self.assertEqual(last, f"{len(records) - 1} passed, 0 failed, 0 skipped")
