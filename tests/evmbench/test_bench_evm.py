"""``zkosctl bench evm``: options, the JSON report, the gas-equality check, missing peers.

Nothing here asserts on timings. The runs use our loops at tiny sizes (a few hundred
instructions) so every path finishes in milliseconds.
"""

import importlib.util
import io
import itertools
import json
import sys

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import fixture_path
from zkos_tw.cli import bench as bench_cli
from zkos_tw.cli import main as cli_main
from zkos_tw.cli.bench_evm import EvmOptions, format_text, run_evm
from zkos_tw.evmbench import contracts, measure, paths, workloads
from zkos_tw.execution import engines


def _options(*argv):
    options = EvmOptions()
    options.parseOptions(["--workloads", "ours", "--repeat", "1", "--min-time", "0", *argv])
    return options


def _tiny():
    """Our two loops at sizes that run in milliseconds on every path."""
    return [workloads.erc20_transfer_loop(3), workloads.keccak_loop(10)]


def _available(names):
    made = [paths.make_path(n) for n in names]
    return [p for p in made if p.reason is None]


class ShiftedGas:
    """A path that runs ``pure`` but reports ``delta`` more gas: a disagreeing implementation."""

    def __init__(self, name, delta):
        self.name = name
        self.reason = None
        self._pure = paths.OurPath("pure")
        self._delta = delta

    def prepare(self, workload):
        call = self._pure.prepare(workload)

        def shifted():
            outcome = call()
            return paths.Outcome(outcome.gas_used + self._delta, outcome.success)

        return shifted


class OptionsTests(SynchronousTestCase):
    """Parsing and validation of ``bench evm`` options."""

    def test_defaults(self):
        """All four paths, three runs minimum, every workload, instructions counted."""
        options = EvmOptions()
        options.parseOptions(["--workloads", "ours"])
        self.assertEqual(options["path-names"], ["cext", "pure", "pyevm", "pyrevm"])
        self.assertEqual(
            (options["repeat"], options["min-time"], options["max-runs"]), (3, 0.5, 100)
        )
        self.assertEqual(
            [w.name for w in options["selected"]], ["erc20_transfer_loop", "keccak_loop"]
        )
        self.assertFalse(options["no-count"])

    def test_subcommand(self):
        """``zkosctl bench evm --json --paths pure,pyrevm`` reaches the evm options."""
        options = bench_cli.Options()
        options.parseOptions(["evm", "--json", "--paths", "pure,pyrevm", "--workloads", "ours"])
        self.assertEqual(options.subCommand, "evm")
        self.assertEqual(options.subOptions["path-names"], ["pure", "pyrevm"])
        self.assertIn("evm", bench_cli.BENCHMARKS)

    def test_bad_values(self):
        """Unknown or repeated paths, bad counts and unknown workloads are usage errors."""
        for argv, message in [
            (["--paths", "cext,geth"], "unknown path geth"),
            (["--paths", ""], "unknown path (none)"),
            (["--paths", "pure,pure"], "named twice"),
            (["--repeat", "0"], "--repeat must be at least 1"),
            (["--min-time", "-1"], "must not be negative"),
            (["--repeat", "5", "--max-runs", "2"], "--max-runs must be at least --repeat"),
            (["--workloads", "no_such_thing"], "unknown workload 'no_such_thing'"),
        ]:
            error = self.assertRaises(usage.UsageError, EvmOptions().parseOptions, argv)
            self.assertIn(message, str(error))

    def test_main_reports_bad_input_in_one_line(self):
        """``zkosctl bench evm --paths x`` prints one line, the usage line, and exits 2."""
        self.patch(sys, "stderr", io.StringIO())
        self.assertEqual(cli_main.main(["bench", "evm", "--paths", "x"]), 2)
        self.assertEqual(
            sys.stderr.getvalue(),
            "zkosctl bench evm: unknown path x; choose from cext, pure, pyevm, pyrevm\n"
            f"Usage: zkosctl bench evm {EvmOptions.synopsis}\n",
        )

    def test_selection_by_file_case_and_group(self):
        """A file stem picks its cases, ``file/label`` one case, a group its files."""
        folder = fixture_path("evm-benchmarks", "benchmarks")
        chosen, note = workloads.select(["swap_math"], folder)
        self.assertIsNone(note)
        self.assertEqual(
            [w.name for w in chosen],
            ["swap_math/spent", "swap_math/received", "swap_math/insufficient_liquidity"],
        )
        chosen, _ = workloads.select(["blake2b_huff/8415nulls", "snailtracer"], folder)
        self.assertEqual([w.name for w in chosen], ["blake2b_huff/8415nulls", "snailtracer"])
        self.assertEqual({w.fork for w in chosen}, {"London"})
        micro, _ = workloads.select(["micro"], folder)
        self.assertEqual({w.group for w in micro}, {"micro"})
        every, _ = workloads.select(["all"], folder)
        stems = {w.stem for w in every}
        for stem in ["snailtracer", "weierstrudel", "structarray_alloc", "erc20_transfer_loop"]:
            self.assertIn(stem, stems)

    def test_absent_fixtures_are_a_note(self):
        """Without the evmone folder ``all`` runs our loops and says why the rest is missing."""
        missing = self.mktemp()
        options = EvmOptions()
        options.parseOptions(["--fixtures", missing])
        self.assertEqual([w.group for w in options["selected"]], [workloads.OURS, workloads.OURS])
        self.assertIn("evmone suite not found", options["notes"][0])
        error = self.assertRaises(
            usage.UsageError,
            EvmOptions().parseOptions,
            ["--fixtures", missing, "--workloads", "main"],
        )
        self.assertIn("evmone suite not found", str(error))


class ReportTests(SynchronousTestCase):
    """A real run of the available paths on tiny workloads."""

    def test_json_shape_and_equal_gas(self):
        """Every path reports the same gas; the report has the documented keys."""
        options = _options("--paths", "cext,pure,pyevm,pyrevm")
        options["selected"] = _tiny()
        lines = []
        result = run_evm(options, _log=lines.append)
        json.dumps(result)  # JSON-able
        self.assertEqual(
            set(result),
            {"version", "ok", "paths", "unavailable", "settings", "notes", "versions",
             "workloads", "geomean", "mismatches"},
        )  # fmt: skip
        self.assertTrue(result["ok"], result["mismatches"])
        self.assertEqual(result["paths"], ["cext", "pure", "pyevm", "pyrevm"])
        for entry in result["workloads"]:
            self.assertGreater(entry["instructions"], 0)
            measured = {name: cell for name, cell in entry["paths"].items() if cell}
            self.assertIn("pure", measured)
            self.assertEqual({c["gas_used"] for c in measured.values()}, {entry["gas_used"]})
            for name, cell in entry["paths"].items():
                if cell is None:
                    self.assertIn(name, result["unavailable"])
                    continue
                self.assertTrue(cell["success"])
                self.assertEqual(cell["runs"], 1)
                self.assertEqual(
                    set(cell),
                    {"s_per_run", "min_s", "runs", "gas_used", "success", "gas_per_s",
                     "instructions_per_s"},
                )  # fmt: skip
            self.assertEqual(
                set(entry["speedup"]), {"cext/pyevm", "cext/pyrevm", "pure/pyevm", "cext/pure"}
            )
        self.assertEqual(set(result["geomean"]), {"all", "ours"})
        # One line per path not measured, then one progress line per workload.
        self.assertEqual(len(lines), len(result["unavailable"]) + 2)

    def test_gas_matches_peers(self):
        """The loops use the same gas on our pure path and on py-evm and pyrevm."""
        for module in ("eth", "pyrevm"):
            if importlib.util.find_spec(module) is None:
                self.skipTest(f"{module} is not installed (the bench extra)")
        chosen = [paths.make_path(n) for n in ("pure", "pyevm", "pyrevm")]
        result = measure.run_benchmark(_tiny(), chosen, repeat=1, min_time=0)
        self.assertTrue(result["ok"], result["mismatches"])
        self.assertEqual(result["unavailable"], {})
        # The ERC-20 loop: a mint plus 3 cold transfers; its gas is far above the intrinsic cost.
        self.assertGreater(result["workloads"][0]["gas_used"], 3 * 22_100)

    def test_gas_matches_on_an_evmone_case(self):
        """swap_math/spent uses the same gas on every available path."""
        folder = fixture_path("evm-benchmarks", "benchmarks")
        chosen, _ = workloads.select(["swap_math/spent"], folder)
        available = _available(paths.PATH_NAMES)
        result = measure.run_benchmark(chosen, available, repeat=1, min_time=0)
        self.assertTrue(result["ok"], result["mismatches"])
        self.assertEqual(result["workloads"][0]["gas_used"], 25219)

    def test_mismatch_is_loud(self):
        """A path off by one gas makes the report not ok, names both figures, fails the run."""
        chosen = [paths.OurPath("pure"), ShiftedGas("pyevm", 1)]
        result = measure.run_benchmark(_tiny()[1:], chosen, repeat=1, min_time=0)
        self.assertFalse(result["ok"])
        (mismatch,) = result["mismatches"]
        self.assertIn("keccak_loop: gas used differs: pure ", mismatch)
        self.assertIn("MISMATCH: keccak_loop", format_text(result))

    def test_reverting_transaction(self):
        """A call that reverts (an unknown selector, a transfer without balance) is measured
        too: every path reports failure and the same gas."""
        artifacts = contracts.load_artifacts()
        transfer = contracts.selector(artifacts, "ERC20Loop", "transfer")
        cases = [
            workloads.contract_call("unknown", "ERC20Loop", b"\xde\xad\xbe\xef", artifacts),
            workloads.contract_call(
                "no_balance",
                "ERC20Loop",
                transfer + bytes(12) + b"\x11" * 20 + (5).to_bytes(32, "big"),
                artifacts,
            ),
        ]
        result = measure.run_benchmark(
            cases,
            _available(paths.PATH_NAMES),
            repeat=1,
            min_time=0,
            count=paths.count_instructions,
        )
        self.assertTrue(result["ok"], result["mismatches"])
        for entry in result["workloads"]:
            cells = [c for c in entry["paths"].values() if c]
            self.assertEqual({c["success"] for c in cells}, {False})
            self.assertGreater(entry["gas_used"], 21_000)

    def test_crash_is_a_mismatch(self):
        """A path that raises is reported (null cell, a mismatch) and the others still run."""

        class Crashing:
            name = "pyevm"
            reason = None

            def prepare(self, workload):
                raise ValueError("cannot decode")

        chosen = [paths.OurPath("pure"), Crashing()]
        result = measure.run_benchmark(_tiny()[1:], chosen, repeat=1, min_time=0)
        self.assertFalse(result["ok"])
        self.assertEqual(
            result["mismatches"], ["keccak_loop: pyevm crashed: ValueError: cannot decode"]
        )
        entry = result["workloads"][0]
        self.assertIsNone(entry["paths"]["pyevm"])
        self.assertTrue(entry["paths"]["pure"]["success"])

    def test_mismatch_exit_status(self):
        """``zkosctl bench evm`` exits 1 when the benchmark reports ``ok: false``."""
        self.patch(bench_cli, "BENCHMARKS", {"evm": (EvmOptions, lambda options: {"ok": False})})
        options = bench_cli.Options()
        options.parseOptions(["evm", "--json", "--workloads", "ours"])
        self.patch(sys, "stdout", io.StringIO())
        self.assertEqual(bench_cli.run(options), 1)
        self.assertEqual(json.loads(sys.stdout.getvalue()), {"evm": {"ok": False}})

    def test_text_table(self):
        """Without ``--json`` the report is a table with the geometric means."""
        result = measure.run_benchmark(_tiny(), [paths.OurPath("pure")], repeat=1, min_time=0)
        text = format_text(result)
        self.assertIn("erc20_transfer_loop", text)
        self.assertIn("geomean (all)", text)
        self.assertIn("pure ms", text)


class MissingPeerTests(SynchronousTestCase):
    """A path that cannot run is reported as ``null`` with a reason, never given a number."""

    def _missing(self, name):
        raise ImportError(f"No module named {name!r}")

    def test_missing_pyevm_and_pyrevm(self):
        """The reason names the package and the extra that installs it."""
        pyevm = paths.PyEvmPath(_import=self._missing)
        pyrevm = paths.PyRevmPath(_import=self._missing)
        self.assertIn("py-evm is not installed (pip install 'zkos-tw[bench]')", pyevm.reason)
        self.assertIn("pyrevm is not installed", pyrevm.reason)
        result = measure.run_benchmark(
            _tiny()[1:], [paths.OurPath("pure"), pyevm, pyrevm], repeat=1, min_time=0
        )
        self.assertTrue(result["ok"])
        entry = result["workloads"][0]
        self.assertIsNone(entry["paths"]["pyevm"])
        self.assertIsNone(entry["paths"]["pyrevm"])
        self.assertIsNone(entry["speedup"]["pure/pyevm"])
        self.assertEqual(set(result["unavailable"]), {"pyevm", "pyrevm"})
        self.assertIn("pyevm: not measured: py-evm is not installed", format_text(result))

    def test_missing_extension(self):
        """Without the compiled loop ``cext`` is null with the way to build it."""

        class NoExtension:
            PURE = engines.PURE
            CEXT = None

        cext = paths.OurPath("cext", _engines=NoExtension)
        self.assertIn("not loaded", cext.reason)
        result = measure.run_benchmark(
            _tiny()[1:], [cext, paths.OurPath("pure")], repeat=1, min_time=0
        )
        self.assertIsNone(result["workloads"][0]["paths"]["cext"])
        self.assertIn("build_ext", result["unavailable"]["cext"])


class TimingLoopTests(SynchronousTestCase):
    """``time_path`` runs at least ``repeat`` times, then until ``min_time`` or ``max_runs``."""

    def _path(self):
        calls = []

        class Counting:
            name = "fake"
            reason = None

            def prepare(self, workload):
                return lambda: calls.append(1) or paths.Outcome(21000, True)

        return Counting(), calls

    def _clock(self, step):
        """A clock whose every other reading is ``step`` later: each run lasts ``step``."""
        readings = itertools.count()
        return lambda: next(readings) * step

    def test_repeat_is_a_minimum(self):
        """Slow runs (1 s each) stop after ``repeat`` runs even with a 0.5 s budget."""
        path, calls = self._path()
        times, outcomes = measure.time_path(path, None, 3, 0.5, 100, clock=self._clock(1.0))
        self.assertEqual((len(times), len(calls)), (3, 3))
        self.assertEqual(set(outcomes), {paths.Outcome(21000, True)})

    def test_min_time_and_max_runs(self):
        """Fast runs continue until the budget is timed, but never past ``max_runs``."""
        path, _ = self._path()
        times, _ = measure.time_path(path, None, 3, 0.5, 100, clock=self._clock(0.125))
        self.assertEqual(len(times), 4)
        times, _ = measure.time_path(path, None, 3, 0.5, 4, clock=self._clock(0.0625))
        self.assertEqual(len(times), 4)

    def test_geometric_mean(self):
        """The geometric mean ignores missing ratios."""
        self.assertEqual(measure.geometric_mean([2.0, 8.0, None]), 4.0)
        self.assertIsNone(measure.geometric_mean([None]))
