"""Time every path on every workload, check that they agree on gas, and summarise.

For each workload each available path runs at least ``repeat`` times, and more while its timed
total is below ``min_time`` seconds, up to ``max_runs`` runs; every run gets a fresh pre-state
(built before the clock starts) and a ``gc.collect()`` (cheap: live objects are frozen first). The reported time is the median run.
A path whose gas used or success flag differs from the others on any run, or that raises, is a
mismatch: the report lists it (a crashed path's cell is ``null``), ``ok`` is false and ``zkosctl bench evm`` exits with status 1.

Result (format version 1)::

    {"version": 1, "ok": true, "paths": [...], "unavailable": {"pyrevm": "reason"},
     "settings": {"repeat": 3, "min_time_s": 0.5, "max_runs": 100}, "notes": [...],
     "versions": {"python": "3.11.7", "zkos-tw": ..., "py-evm": ..., "pyrevm": ...},
     "workloads": [{"name", "group", "fork", "gas_used", "instructions",
                    "paths": {"cext": {"s_per_run", "min_s", "runs", "gas_used", "success",
                                        "gas_per_s", "instructions_per_s"} | null, ...},
                    "speedup": {"cext/pyevm": float | null, ...}}],
     "geomean": {"all": {"cext/pyevm": ...}, "main": {...}, "micro": {...}, "ours": {...}},
     "mismatches": ["snailtracer: gas used cext 161088532, pyevm 161088531"]}

``a/b`` in ``speedup`` is how many times faster ``a`` runs than ``b`` (``time_b / time_a``).
"""

from __future__ import annotations

import gc
import importlib.metadata
import math
import platform
import statistics
import time

from zkos_tw.evmbench.paths import Outcome

VERSION = 1
#: (faster path, reference path) pairs reported per workload and as geometric means.
RATIOS = (("cext", "pyevm"), ("cext", "pyrevm"), ("pure", "pyevm"), ("cext", "pure"))


def time_path(path, workload, repeat: int, min_time: float, max_runs: int, clock=None):
    """``(seconds of each run, outcomes of each run)`` for one path on one workload."""
    clock = clock or time.perf_counter
    times: list[float] = []
    outcomes: list[Outcome] = []
    # Collect once and move every live object to the permanent generation, so that the
    # collection before each run only walks what the previous run left (25 ms -> 1 us here).
    gc.collect()
    gc.freeze()
    while len(times) < repeat or (sum(times) < min_time and len(times) < max_runs):
        call = path.prepare(workload)
        gc.collect()
        started = clock()
        outcome = call()
        times.append(clock() - started)
        outcomes.append(outcome)
    return times, outcomes


def _rate(amount, seconds):
    return round(amount / seconds) if amount is not None and seconds > 0 else None


def _speedup(cell_a, cell_b):
    if cell_a is None or cell_b is None or cell_a["s_per_run"] <= 0:
        return None
    return round(cell_b["s_per_run"] / cell_a["s_per_run"], 3)


def geometric_mean(values) -> float | None:
    """The geometric mean of the positive values (``None`` when there are none)."""
    values = [v for v in values if v]
    if not values:
        return None
    return round(math.exp(sum(math.log(v) for v in values) / len(values)), 3)


def measure_workload(workload, paths, repeat, min_time, max_runs, instructions, mismatches):
    """The report entry of one workload; appends disagreements to ``mismatches``."""
    cells = {}
    seen: dict[str, Outcome] = {}
    for path in paths:
        if path.reason is not None:
            cells[path.name] = None
            continue
        try:
            times, outcomes = time_path(path, workload, repeat, min_time, max_runs)
        except Exception as e:  # one path crashing on one case must not lose the whole run
            mismatches.append(f"{workload.name}: {path.name} crashed: {type(e).__name__}: {e}")
            cells[path.name] = None
            continue
        first = outcomes[0]
        if any(o != first for o in outcomes[1:]):
            mismatches.append(f"{workload.name}: {path.name} differs between its own runs")
        seen[path.name] = first
        median = statistics.median(times)
        cells[path.name] = {
            "s_per_run": round(median, 9),
            "min_s": round(min(times), 9),
            "runs": len(times),
            "gas_used": first.gas_used,
            "success": first.success,
            "gas_per_s": _rate(first.gas_used, median),
            "instructions_per_s": _rate(instructions, median),
        }
    if len({o.gas_used for o in seen.values()}) > 1:
        listed = ", ".join(f"{name} {o.gas_used}" for name, o in seen.items())
        mismatches.append(f"{workload.name}: gas used differs: {listed}")
    if len({o.success for o in seen.values()}) > 1:
        listed = ", ".join(f"{name} {o.success}" for name, o in seen.items())
        mismatches.append(f"{workload.name}: success differs: {listed}")
    gas = next(iter(seen.values())).gas_used if seen else None
    return {
        "name": workload.name,
        "group": workload.group,
        "fork": workload.fork,
        "gas_used": gas,
        "instructions": instructions,
        "paths": cells,
        "speedup": {f"{a}/{b}": _speedup(cells.get(a), cells.get(b)) for a, b in RATIOS},
    }


def versions() -> dict:
    """Python's version and each measured package's (``None`` when not installed)."""
    found = {"python": platform.python_version()}
    for package in ("zkos-tw", "py-evm", "pyrevm"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


def run_benchmark(
    workloads,
    paths,
    *,
    repeat=3,
    min_time=0.5,
    max_runs=100,
    count=None,
    notes=(),
    log=None,
) -> dict:
    """Measure ``paths`` on ``workloads``; ``count(workload) -> int`` gives instruction counts
    (``None``: not counted); ``log(line)`` receives one progress line per workload."""
    mismatches: list[str] = []
    entries = []
    for workload in workloads:
        started = time.perf_counter()
        instructions = None
        if count is not None:
            try:
                instructions = count(workload)
            except Exception as e:  # the pure path failed: say so, time the others anyway
                mismatches.append(f"{workload.name}: instruction count crashed: {e!r}")
        entry = measure_workload(
            workload, paths, repeat, min_time, max_runs, instructions, mismatches
        )
        entries.append(entry)
        if log is not None:
            log(f"evm: {workload.name}: {time.perf_counter() - started:.1f} s")
    gc.unfreeze()
    groups = ["all", *dict.fromkeys(e["group"] for e in entries)]
    geomean = {
        group: {
            key: geometric_mean(e["speedup"][key] for e in entries if group in ("all", e["group"]))
            for key in (f"{a}/{b}" for a, b in RATIOS)
        }
        for group in groups
    }
    return {
        "version": VERSION,
        "ok": not mismatches,
        "paths": [p.name for p in paths],
        "unavailable": {p.name: p.reason for p in paths if p.reason is not None},
        "settings": {"repeat": repeat, "min_time_s": min_time, "max_runs": max_runs},
        "notes": list(notes),
        "versions": versions(),
        "workloads": entries,
        "geomean": geomean,
        "mismatches": mismatches,
    }


# -- the human table -----------------------------------------------------------------------


def _ms(cell):
    return "-" if cell is None else f"{cell['s_per_run'] * 1000:.2f}"


def _x(value):
    return "-" if value is None else f"{value:.2f}x"


def format_table(result: dict) -> str:
    """The report as a plain-text table, then the geometric means, notes and mismatches."""
    names = result["paths"]
    header = ["workload", "gas", "instr", *(f"{n} ms" for n in names)]
    header += ["cext Mgas/s", "cext Minstr/s", *(f"{a}/{b}" for a, b in RATIOS)]
    rows = [header]
    for e in result["workloads"]:
        cext = e["paths"].get("cext")
        rows.append(
            [
                e["name"],
                str(e["gas_used"]),
                "-" if e["instructions"] is None else str(e["instructions"]),
                *(_ms(e["paths"].get(n)) for n in names),
                "-" if not cext else f"{cext['gas_per_s'] / 1e6:.1f}",
                "-" if not cext or not cext["instructions_per_s"] else
                f"{cext['instructions_per_s'] / 1e6:.2f}",
                *(_x(e["speedup"][f"{a}/{b}"]) for a, b in RATIOS),
            ]
        )  # fmt: skip
    for group, means in result["geomean"].items():
        blank = [""] * (len(header) - 1 - len(RATIOS))
        rows.append([f"geomean ({group})", *blank, *(_x(means[f"{a}/{b}"]) for a, b in RATIOS)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                  enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("a/b: how many times faster a runs than b (median time per run).")
    for name, reason in result["unavailable"].items():
        lines.append(f"{name}: not measured: {reason}")
    lines += [f"note: {note}" for note in result["notes"]]
    for mismatch in result["mismatches"]:
        lines.append(f"MISMATCH: {mismatch}")
    return "\n".join(lines)
