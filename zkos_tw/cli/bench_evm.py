"""``zkosctl bench evm``: our compiled and pure EVM loops against py-evm and pyrevm.

    zkosctl bench evm [--json] [--workloads a,b] [--repeat N] [--paths cext,pure,pyevm,pyrevm]

One process, the same transactions, a fresh pre-state per run (see ``zkos_tw.evmbench``).
Exit status 1 when the paths disagree on gas used or success on any workload.
"""

from __future__ import annotations

import sys

from twisted.python import usage

from zkos_tw.evmbench import contracts, measure, paths, workloads


class EvmOptions(usage.Options):
    """Options of ``zkosctl bench evm``."""

    synopsis = "[--json] [--workloads a,b] [--repeat N] [--paths cext,pure,pyevm,pyrevm]"
    longdesc = (
        "Workloads: all (default), a group (main, micro, ours), an evmone file (snailtracer, "
        "sha1_divs, ...), one of its cases (blake2b_huff/8415nulls) or one of our loops "
        "(erc20_transfer_loop, keccak_loop). Each path runs each workload at least --repeat "
        "times and more while its timed total is under --min-time seconds (at most "
        "--max-runs runs); the median run is reported."
    )
    optFlags = [
        ["json", None, "Print one JSON object"],
        ["no-count", None, "Do not count instructions (skips one pure-path run per workload)"],
    ]
    optParameters = [
        ["workloads", None, "all", "Comma-separated workloads, groups or files"],
        ["repeat", None, 3, "Minimum runs per path and workload", int],
        ["paths", None, ",".join(paths.PATH_NAMES), "Comma-separated paths to measure"],
        ["min-time", None, 0.5, "Keep repeating until this many seconds were timed", float],
        ["max-runs", None, 100, "At most this many runs per path and workload", int],
        ["fixtures", None, None, "evm-benchmarks folder (default: under $ZKOS_SHARED_DIR)"],
    ]

    def postOptions(self):
        names = [n for n in self["paths"].split(",") if n]
        unknown = [n for n in names if n not in paths.PATH_NAMES]
        if unknown or not names:
            raise usage.UsageError(
                f"unknown path {','.join(unknown) or '(none)'}; "
                f"choose from {', '.join(paths.PATH_NAMES)}"
            )
        if len(set(names)) != len(names):
            raise usage.UsageError(f"a path is named twice in --paths {self['paths']}")
        self["path-names"] = names
        if self["repeat"] < 1:
            raise usage.UsageError("--repeat must be at least 1")
        if self["min-time"] < 0:
            raise usage.UsageError("--min-time must not be negative")
        if self["max-runs"] < self["repeat"]:
            raise usage.UsageError("--max-runs must be at least --repeat")
        folder = self["fixtures"] or workloads.default_fixtures_dir()
        self["fixtures"] = folder
        spec = [s for s in self["workloads"].split(",") if s]
        try:
            chosen, note = workloads.select(spec, folder)
        except contracts.ArtifactsError as e:
            raise usage.UsageError(str(e)) from None
        for item in spec:
            if item in ("all", *workloads.GROUPS):
                continue
            if not any(item in (w.name, w.stem) for w in chosen):
                known = sorted(workloads.known_names(folder))
                raise usage.UsageError(f"unknown workload {item!r}; known: {', '.join(known)}")
        if not chosen:
            why = f": {note}" if note else ""
            raise usage.UsageError(f"no workload to run for {self['workloads']!r}{why}")
        self["selected"] = chosen
        self["notes"] = [note] if note else []


def run_evm(options, _paths=None, _log=None) -> dict:
    """Run the benchmark the options describe (``_paths``: path objects, a test seam)."""
    chosen_paths = _paths or [paths.make_path(n) for n in options["path-names"]]
    log = _log or (lambda line: print(line, file=sys.stderr, flush=True))
    for path in chosen_paths:
        if path.reason is not None:
            log(f"evm: {path.name} not measured: {path.reason}")
    result = measure.run_benchmark(
        options["selected"],
        chosen_paths,
        repeat=options["repeat"],
        min_time=options["min-time"],
        max_runs=options["max-runs"],
        count=None if options["no-count"] else paths.count_instructions,
        notes=options["notes"],
        log=log,
    )
    for mismatch in result["mismatches"]:
        log(f"evm: MISMATCH: {mismatch}")
    return result


def format_text(result: dict) -> str:
    """The human table (``zkosctl bench evm`` without ``--json``)."""
    return measure.format_table(result)
