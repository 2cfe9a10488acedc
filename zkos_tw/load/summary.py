"""Several runs of the same-run comparison (``benchmarks/load.py --runs N``) summed up.

One run is the JSON object ``benchmarks/load.py`` prints for a single run: a result per peer
(``ours``, ``ours-workers-N``, ``anvil``, ...) and the ``included_tps_ratio_*`` keys. The
summary gives, over the runs, the median, minimum and maximum of each ratio and of each peer's
included TPS, inclusion p99, ``eth_blockNumber`` p99 and CPU per included transaction; a run
in which a value is missing (``None``, or the peer did not run) is left out of that value only.
"""

from __future__ import annotations

import statistics

#: summary name -> where it is in a peer's result
PEER_FIELDS = {
    "included_tps": ("included_tps",),
    "inclusion_p99_ms": ("inclusion_latency_ms", "p99"),
    "block_number_p99_ms": ("block_number_latency_ms", "p99"),
    "cpu_us_per_tx": ("peer_cpu_us_per_tx",),
}
RATIO_PREFIX = "included_tps_ratio_"


def spread(values: list[float | None]) -> dict:
    """Median, min and max of the values that are there (``None`` ones left out), and the values
    themselves in run order; all ``None`` when no value is there."""
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "n": 0, "values": list(values)}
    median = statistics.median(present)
    return {
        "median": round(median, 3) if isinstance(median, float) else median,
        "min": min(present),
        "max": max(present),
        "n": len(present),
        "values": list(values),
    }


def add_ratios(result: dict, names: list[str]) -> None:
    """Adds one run's ``included_tps_ratio_*`` keys: each of ours against anvil, and the
    pipeline on against off."""
    if "anvil" in result:
        anvil = result["anvil"]["included_tps"]
        for name in names:
            if name.startswith("ours") and name in result:
                ours = result[name]["included_tps"]
                key = "included_tps_ratio_" + name.replace("-", "_") + "_to_anvil"
                result[key] = round(ours / anvil, 3) if ours and anvil else None
    if "ours" in result and "ours-no-pipeline" in result:
        on, off = result["ours"]["included_tps"], result["ours-no-pipeline"]["included_tps"]
        result["included_tps_ratio_pipeline_on_to_off"] = round(on / off, 3) if on and off else None


def _dig(result: dict | None, path: tuple[str, ...]):
    for key in path:
        if not isinstance(result, dict):
            return None
        result = result.get(key)
    return result


def summarize_runs(runs: list[dict], peers: list[str]) -> dict:
    """The summary of ``runs`` (each one run's JSON object) for the peers named ``peers``."""
    ratio_keys = sorted({k for run in runs for k in run if k.startswith(RATIO_PREFIX)})
    summary: dict = {"runs": len(runs)}
    for key in ratio_keys:
        summary[key] = spread([run.get(key) for run in runs])
    for peer in peers:
        summary[peer] = {
            name: spread([_dig(run.get(peer), path) for run in runs])
            for name, path in PEER_FIELDS.items()
        }
    summary["loadavg_before"] = spread([_dig(run, ("loadavg_before",)) for run in runs])
    return summary
