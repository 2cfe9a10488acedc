"""``zkosctl bench NAME [--json]``: reproducible benchmarks that print JSON.

Each benchmark is one entry of ``BENCHMARKS`` (name -> options class, runner); ``all`` runs
every one. ``evm`` times our compiled and pure EVM loops against py-evm and pyrevm on the evmone
suite and our Solidity loops (``zkos_tw.cli.bench_evm``; exit status 1 on a gas mismatch).
``tree`` applies random-key blocks to a growing state tree and reports leaf updates per second
for the compiled and the pure-Python paths (the pure one in a child process with
``ZKOS_NO_EXTENSIONS=1``), the patch bytes and the in-memory bytes per million leaves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from twisted.python import usage

import zkos_tw
from zkos_tw.cli.bench_evm import EvmOptions, format_text, run_evm


class TreeOptions(usage.Options):
    optFlags = [["json", None, "Print one JSON object"]]
    optParameters = [
        ["leaves", None, 1_000_000, "Grow the tree to this many leaves", int],
        ["pure-leaves", None, None, "Leaves for the pure path (default: --leaves)", int],
        ["block-size", None, 1000, "Writes per block", int],
        ["paths", None, "cext,pure", "Comma-separated paths to measure: cext, pure"],
    ]


def _child(leaves: int, block_size: int, pure: bool) -> dict:
    env = dict(os.environ)
    env.pop("ZKOS_REQUIRE_EXTENSIONS", None)
    if pure:
        env["ZKOS_NO_EXTENSIONS"] = "1"
    else:
        env.pop("ZKOS_NO_EXTENSIONS", None)
    # The child imports the same zkos_tw as this process, whatever the working directory.
    root = os.path.dirname(os.path.dirname(os.path.abspath(zkos_tw.__file__)))
    code = (
        f"import sys; sys.path.insert(0, {root!r}); from zkos_tw.merkle.bench import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "--leaves",
            str(leaves),
            "--block-size",
            str(block_size),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def run_tree(options) -> dict:
    """Measure each requested path in its own child process (fresh memory, honest RSS)."""
    result = {}
    for path in options["paths"].split(","):
        leaves = options["leaves"]
        if path == "pure" and options["pure-leaves"]:
            leaves = options["pure-leaves"]
        result[path] = _child(leaves, options["block-size"], path == "pure")
    if "cext" in result and "pure" in result:
        result["speedup"] = round(
            result["cext"]["updates_per_s"] / result["pure"]["updates_per_s"], 2
        )
    return result


#: name -> (options class, runner returning a JSON-able dict). Add an entry per benchmark.
BENCHMARKS = {
    "tree": (TreeOptions, run_tree),
    "evm": (EvmOptions, run_evm),
}

#: name -> the human-readable form of its result (benchmarks without one print indented JSON).
TEXT_FORMATS = {"evm": format_text}


class AllOptions(usage.Options):
    optFlags = [["json", None, "Print one JSON object"]]


def _run_all(options) -> dict:
    results = {}
    for name, (options_class, runner) in BENCHMARKS.items():
        sub = options_class()
        sub.parseOptions([])
        results[name] = runner(sub)
    return results


class Options(usage.Options):
    synopsis = "tree|evm|all [options]"
    longdesc = "Each benchmark prints one JSON object; see `zkosctl bench BENCHMARK --help`."
    subCommands = [
        [name, None, cls, f"the {name} benchmark"] for name, (cls, _) in BENCHMARKS.items()
    ]
    subCommands.append(["all", None, AllOptions, "every benchmark"])

    def postOptions(self):
        if self.subCommand is None:
            raise usage.UsageError("name a benchmark: " + ", ".join([*BENCHMARKS, "all"]))


def run(options) -> int:
    name = options.subCommand
    sub = options.subOptions
    result = _run_all(sub) if name == "all" else {name: BENCHMARKS[name][1](sub)}
    if sub["json"]:
        print(json.dumps(result, sort_keys=True))
    elif name in TEXT_FORMATS:
        print(TEXT_FORMATS[name](result[name]))
    else:
        print(json.dumps(result, indent=2, sort_keys=True))
    # A benchmark whose paths disagree (``"ok": false``) fails the run.
    return 0 if all(r.get("ok", True) for r in result.values()) else 1
