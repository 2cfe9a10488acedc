"""Memory after many transactions, ours against anvil in one run: ``python benchmarks/rss.py``;
prints JSON.

For each peer in turn (our ``twistd -n zkos --dev``, then ``anvil --block-time 0.1``, both
started as ``benchmarks/load.py`` starts them, on free ports with a temporary data dir):

1. samples the peer's resident set size from ``/proc/PID/status`` every ``--sample-interval``
   seconds (ours: the node process and each RPC worker process, reported apart and summed;
   never the dev L1 anvil our node starts);
2. drives ``--txs`` plain transfers through it in chunks of ``--chunk`` (one ``zkos_tw.load``
   run each, fresh senders and recipients per chunk, so the load tool never holds more than one
   chunk and the chain's state keeps growing), and samples RSS right after each chunk;
3. reports the RSS at start, after each chunk (with the chunk's included TPS and inclusion
   p99), the maximum, the final value and the CPU per included transaction.

``VmRSS`` counts the LMDB pages a process has touched through its read-only map
(``RssFile``) as well as its heap (``RssAnon``): both are reported, and ``anon`` is what
grows with Python objects.

``--census DIR`` (ours only) starts the node with a ``sitecustomize`` that writes a heap
census on ``SIGUSR2`` (live objects per type, every container of 2,000 items or more with
the attribute holding it); the benchmark signals after every chunk and puts the growth from
the first census to the last into the JSON: which structure grows. ``--tracemalloc-frames N``
also starts tracemalloc at the first signal and adds the top growing allocation sites (by
``lineno`` and by ``traceback``); tracing costs the node several times its CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from twisted.internet.task import LoopingCall, deferLater  # noqa: E402

from benchmarks.load import (  # noqa: E402
    child_pids,
    cpu_seconds,
    react_then_remove,
    require_anvil,
    start_anvil,
    start_ours,
)
from zkos_tw.load.runner import LoadConfig, LoadError, LoadRun  # noqa: E402

#: /proc/PID/status fields we keep (kB there, MiB in the result)
STATUS_FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")

SITECUSTOMIZE = '''"""Written by benchmarks/rss.py: each SIGUSR2 writes a census of the heap.

The census (``census-PID-N.json``): live objects per type (``gc.get_objects()``), and every
container of at least ``MIN_LEN`` items with its length and who holds it (``Class.attribute``
or ``module.name``). With ``RSS_BENCH_FRAMES`` > 0 the first signal also starts tracemalloc
and each one writes a snapshot beside the census (slow: tracing costs the node ~2-10x CPU).
"""
import collections
import gc
import json
import os
import signal
import sys
import tracemalloc

MIN_LEN = 2000
CONTAINERS = (dict, list, set, collections.deque, collections.OrderedDict,
              collections.defaultdict, collections.Counter)


def _owners(container, objects_by_dict, ignore):
    found = []
    for holder in gc.get_referrers(container):
        if id(holder) in ignore or isinstance(holder, type(sys._getframe())):
            continue
        if isinstance(holder, dict):
            keys = [k for k, v in holder.items() if v is container][:1]
            if not keys:
                continue
            owner = objects_by_dict.get(id(holder))
            if owner is not None:
                found.append("%s.%s" % (type(owner).__qualname__, keys[0]))
            elif "__name__" in holder and "__builtins__" in holder:
                found.append("%s.%s" % (holder["__name__"], keys[0]))
            else:
                found.append("dict[%r]" % (keys[0],))
        elif isinstance(holder, CONTAINERS + (tuple,)):
            found.append(type(holder).__qualname__ + " item")
        else:  # an object whose attributes live inline (3.11+) or in __slots__
            names = list(getattr(holder, "__dict__", {}) or {})
            for klass in type(holder).__mro__:
                names += list(getattr(klass, "__slots__", ()))
            names = [n for n in names if getattr(holder, n, None) is container]
            found.append("%s.%s" % (type(holder).__qualname__, names[0] if names else "?"))
    return found[:3]


def _census(path):
    gc.collect()
    objects = gc.get_objects()
    counts = collections.Counter(type(o).__module__ + "." + type(o).__qualname__ for o in objects)
    objects_by_dict = {}
    big = []
    for o in objects:
        d = getattr(o, "__dict__", None) if not isinstance(o, type) else None
        if type(d) is dict:
            objects_by_dict[id(d)] = o
        if isinstance(o, CONTAINERS) and len(o) >= MIN_LEN:
            big.append(o)
    rows = []
    ignore = {id(objects), id(big), id(rows)}
    for o in big:
        rows.append({"type": type(o).__qualname__, "len": len(o),
                     "shallow_mb": round(sys.getsizeof(o) / 2**20, 2),
                     "held_by": _owners(o, objects_by_dict, ignore)})
    del big, objects, objects_by_dict
    rows.sort(key=lambda r: -r["len"])
    with open(path + ".tmp", "w") as f:
        json.dump({"objects": sum(counts.values()), "types": counts.most_common(60),
                   "big_containers": rows[:60]}, f)
    os.rename(path + ".tmp", path)


def _dump(signum, frame):
    directory = os.environ["RSS_BENCH_SNAPSHOT_DIR"]
    index = len([n for n in os.listdir(directory) if n.startswith("census-")])
    frames = int(os.environ.get("RSS_BENCH_FRAMES", "0"))
    if frames > 0:
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(
                os.path.join(directory, "snap-%d-%d.tracemalloc" % (os.getpid(), index)))
        else:
            tracemalloc.start(frames)
    _census(os.path.join(directory, "census-%d-%d.json" % (os.getpid(), index)))


if os.environ.get("RSS_BENCH_SNAPSHOT_DIR"):
    signal.signal(signal.SIGUSR2, _dump)
'''


def read_status(pid: int) -> dict[str, int] | None:
    """The memory fields of ``/proc/PID/status`` in kB; None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    return parse_status(text)


def parse_status(text: str) -> dict[str, int]:
    """``{"VmRSS": kB, ...}`` from the text of ``/proc/PID/status`` (fields that are there)."""
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in STATUS_FIELDS:
            found[name] = int(value.split()[0])
    return found


def _mib(kb: int) -> float:
    return round(kb / 1024, 1)


def memory_of(pid: int, workers: bool) -> dict:
    """RSS of ``pid`` (and, with ``workers``, of its RPC worker children) in MiB."""
    main = read_status(pid) or {}
    sample = {
        "rss_mb": _mib(main.get("VmRSS", 0)),
        "anon_mb": _mib(main.get("RssAnon", 0)),
        "file_mb": _mib(main.get("RssFile", 0)),
    }
    if workers:
        children = [s for s in (read_status(c) for c in child_pids(pid)) if s]
        sample["workers_rss_mb"] = [_mib(s.get("VmRSS", 0)) for s in children]
        sample["workers_anon_mb"] = [_mib(s.get("RssAnon", 0)) for s in children]
        sample["total_rss_mb"] = round(sample["rss_mb"] + sum(sample["workers_rss_mb"]), 1)
        sample["total_anon_mb"] = round(sample["anon_mb"] + sum(sample["workers_anon_mb"]), 1)
    else:
        sample["total_rss_mb"] = sample["rss_mb"]
        sample["total_anon_mb"] = sample["anon_mb"]
    return sample


def snapshot_diff(first: str, last: str, limit: int = 20) -> dict:
    """The allocation sites that grew most from snapshot ``first`` to ``last``."""
    import tracemalloc

    old, new = tracemalloc.Snapshot.load(first), tracemalloc.Snapshot.load(last)
    report = {
        "first_mb": round(sum(s.size for s in old.statistics("filename")) / 2**20, 1),
        "last_mb": round(sum(s.size for s in new.statistics("filename")) / 2**20, 1),
    }
    for key in ("lineno", "traceback"):
        rows = []
        for stat in new.compare_to(old, key)[:limit]:
            frames = [f"{f.filename}:{f.lineno}" for f in stat.traceback]
            rows.append(
                {
                    "where": frames[0] if key == "lineno" else frames,
                    "size_diff_mb": round(stat.size_diff / 2**20, 2),
                    "size_mb": round(stat.size / 2**20, 2),
                    "count_diff": stat.count_diff,
                }
            )
        report[f"top_{key}"] = rows
    return report


class Sampler:
    """RSS of one peer every ``interval`` seconds while its chunks run."""

    def __init__(self, reactor, pid: int, workers: bool, interval: float):
        self.reactor, self.pid, self.workers = reactor, pid, workers
        self.started = reactor.seconds()
        self.samples: list[dict] = []
        self._loop = LoopingCall(self.sample)
        self._loop.clock = reactor
        self._loop.start(interval, now=True)

    def sample(self) -> dict:
        sample = {"t": round(self.reactor.seconds() - self.started, 1)}
        sample.update(memory_of(self.pid, self.workers))
        self.samples.append(sample)
        return sample

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()


async def census(reactor, pid: int, directory: str, timeout: float = 600.0) -> str:
    """Ask our node for a heap census (and a tracemalloc snapshot, if tracing); the census
    file's path once it is written."""
    before = set(os.listdir(directory))
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = sorted(n for n in set(os.listdir(directory)) - before if n.startswith("census-"))
        if new and not new[0].endswith(".tmp"):
            return os.path.join(directory, new[0])
        await deferLater(reactor, 0.5, lambda: None)
    raise SystemExit("rss benchmark: the node wrote no heap census")


def census_diff(first: str, last: str, limit: int = 25) -> dict:
    """What grew between two censuses: live objects per type, and the big containers of the
    last census with their length in the first (matched by type and holder)."""
    with open(first) as f:
        old = json.load(f)
    with open(last) as f:
        new = json.load(f)
    old_types = dict(old["types"])
    types = sorted(
        ((name, count - old_types.get(name, 0), count) for name, count in new["types"]),
        key=lambda row: -row[1],
    )
    earlier = {(r["type"], tuple(r["held_by"])): r["len"] for r in old["big_containers"]}
    return {
        "objects": [old["objects"], new["objects"]],
        "types_grown": [
            {"type": name, "diff": diff, "count": count} for name, diff, count in types[:limit]
        ],
        "big_containers": [
            {**r, "len_first": earlier.get((r["type"], tuple(r["held_by"])))}
            for r in new["big_containers"][:limit]
        ],
    }


class PeerGaveUp(Exception):
    """A peer stopped including: ``error`` says where; ``chunks`` are the ones it finished."""

    def __init__(self, error: str, chunks: list):
        super().__init__(error)
        self.error, self.chunks = error, chunks


async def measure(reactor, name: str, peer, args, snapshot_dir: str | None, txs: int) -> dict:
    """Drive ``txs`` transfers through ``peer`` in chunks, sampling its RSS."""
    ours = name != "anvil"
    pid = peer.process.pid
    await deferLater(reactor, 2.0, lambda: None)  # let start-up settle before the first sample
    sampler = Sampler(reactor, pid, ours, args.sample_interval)
    start = dict(sampler.samples[-1])
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    chunks, censuses, done = [], [], 0
    try:
        index = 0
        while done < txs:
            size = min(args.chunk, txs - done)
            config = LoadConfig(
                rpc_url=peer.url,
                senders=args.senders,
                txs=size,
                batch_size=args.batch_size,
                connections=args.connections,
                timeout=args.timeout,
                seed=b"rss" + index.to_bytes(5, "big"),
            )
            try:
                result = (await LoadRun(config, reactor).run()).result()
            except LoadError as e:
                error = f"rss benchmark: {name}: chunk {index}: {e}"
                raise PeerGaveUp(error, chunks) from None
            done += size
            after = sampler.sample()
            chunk = {
                "chunk": index,
                "txs_total": done,
                "included": result["included"],
                "timed_out": result["timed_out"],
                "included_tps": result["included_tps"],
                "inclusion_p99_ms": result["inclusion_latency_ms"]["p99"],
                "block_number_p99_ms": result["block_number_latency_ms"]["p99"],
                "loadavg": os.getloadavg()[0],
                **{k: v for k, v in after.items() if k != "t"},
            }
            chunks.append(chunk)
            print(json.dumps({name: chunk}), file=sys.stderr, flush=True)
            if snapshot_dir and ours:
                censuses.append(await census(reactor, pid, snapshot_dir))
            index += 1
    finally:
        sampler.stop()
    used = cpu_seconds(pid) - cpu_before
    included = sum(c["included"] for c in chunks)
    final = sampler.sample()
    totals = [s["total_rss_mb"] for s in sampler.samples]
    report = {
        "txs": done,
        "included": included,
        "wall_seconds": round(time.monotonic() - wall_before, 1),
        "cpu_seconds": round(used, 1),
        "cpu_us_per_tx": round(1e6 * used / included) if included else None,
        "rss_start": start,
        "rss_max_total_mb": max(totals),
        "rss_max_total_anon_mb": max(s["total_anon_mb"] for s in sampler.samples),
        "rss_final": final,
        "vm_hwm_mb": _mib((read_status(pid) or {}).get("VmHWM", 0)),
        "chunks": chunks,
        # [seconds since start, total RSS MiB, total anon MiB], every sample
        "samples": [[s["t"], s["total_rss_mb"], s["total_anon_mb"]] for s in sampler.samples],
    }
    if len(censuses) >= 2:
        report["census"] = census_diff(censuses[0], censuses[-1])
        snaps = sorted(
            (n for n in os.listdir(snapshot_dir) if n.endswith(".tracemalloc")),
            key=lambda n: int(n.split("-")[-1].split(".")[0]),
        )
        if len(snaps) >= 2:
            paths = [os.path.join(snapshot_dir, n) for n in (snaps[0], snaps[-1])]
            report["tracemalloc"] = snapshot_diff(*paths)
    return report


def rss_ratios(ours: dict, anvil: dict) -> dict:
    """Ours against anvil: after the same number of transfers (the last chunk both finished,
    so a smaller ``--anvil-txs`` or an anvil that gave up still compares), and at the end when
    both ran the same count."""
    ratios = {}
    by_txs = {c["txs_total"]: c for c in ours.get("chunks", [])}
    same = [c for c in anvil.get("chunks", []) if c["txs_total"] in by_txs]
    if same:
        last = same[-1]
        ratios["rss_ratio_ours_to_anvil_at_same_txs"] = {
            "txs": last["txs_total"],
            "ours_total_rss_mb": by_txs[last["txs_total"]]["total_rss_mb"],
            "anvil_total_rss_mb": last["total_rss_mb"],
            "ratio": round(by_txs[last["txs_total"]]["total_rss_mb"] / last["total_rss_mb"], 3),
        }
    if "rss_final" in ours and "rss_final" in anvil and ours["txs"] == anvil["txs"]:
        ratios["final_rss_ratio_ours_to_anvil"] = round(
            ours["rss_final"]["total_rss_mb"] / anvil["rss_final"]["total_rss_mb"], 2
        )
    return ratios


def tracemalloc_env(directory: str, frames: int) -> dict:
    """The environment that makes our node trace allocations and dump snapshots on SIGUSR2."""
    hook = os.path.join(directory, "hook")
    os.makedirs(hook, exist_ok=True)
    with open(os.path.join(hook, "sitecustomize.py"), "w") as f:
        f.write(SITECUSTOMIZE)
    path = os.environ.get("PYTHONPATH")
    return {
        "PYTHONPATH": hook + (os.pathsep + path if path else ""),
        "RSS_BENCH_FRAMES": str(frames),
        "RSS_BENCH_SNAPSHOT_DIR": directory,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--sample-interval", type=float, default=3.0)
    parser.add_argument("--peers", default="ours,anvil", help="comma-separated: ours, anvil")
    parser.add_argument("--genesis", default=os.path.join(REPO_ROOT, "dev-genesis.json"))
    parser.add_argument("--anvil-block-time", type=float, default=0.1)
    parser.add_argument(
        "--anvil-txs",
        type=int,
        default=None,
        help="anvil: this many transfers instead of --txs (it keeps every block in memory)",
    )
    parser.add_argument("--rpc-workers", type=int, default=None, help="ours: --rpc-workers N")
    parser.add_argument(
        "--census",
        metavar="DIR",
        help="ours: a heap census after every chunk into DIR, first-to-last diff in the JSON",
    )
    parser.add_argument(
        "--tracemalloc-frames",
        type=int,
        default=0,
        help="with --census: also trace allocations (N frames) from the first chunk on",
    )
    args = parser.parse_args(argv)
    peers = [p for p in args.peers.split(",") if p]
    if set(peers) - {"ours", "anvil"}:
        parser.error("--peers takes ours and anvil")
    if args.chunk < 1 or args.txs < 1 or (args.anvil_txs is not None and args.anvil_txs < 1):
        parser.error("--txs, --anvil-txs and --chunk must be at least 1")
    if "anvil" in peers:
        require_anvil(parser)
    output = {
        "benchmark": "rss",
        "settings": {
            k: getattr(args, k)
            for k in (
                "txs",
                "anvil_txs",
                "chunk",
                "senders",
                "batch_size",
                "connections",
                "rpc_workers",
            )
        },
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": os.getloadavg()[0],
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        },
    }
    workdir = tempfile.mkdtemp(prefix="zkos-bench-rss-")
    snapshot_dir = None
    if args.census:
        snapshot_dir = os.path.abspath(args.census)
        os.makedirs(snapshot_dir, exist_ok=True)

    async def run_all(reactor):
        for name in peers:
            if name == "ours":
                saved = dict(os.environ)
                if snapshot_dir:  # start_ours copies os.environ for the node
                    os.environ.update(tracemalloc_env(snapshot_dir, args.tracemalloc_frames))
                try:
                    peer = start_ours(workdir, args.genesis, True, True, args.rpc_workers)
                finally:
                    os.environ.clear()
                    os.environ.update(saved)
            else:
                peer = start_anvil(workdir, args.anvil_block_time)
            try:
                txs = args.anvil_txs if name == "anvil" and args.anvil_txs else args.txs
                output[name] = await measure(reactor, name, peer, args, snapshot_dir, txs)
                output[name]["loadavg_after"] = os.getloadavg()[0]
            except PeerGaveUp as e:  # say so, keep what it finished, measure the next one
                output[name] = {"error": e.error, "chunks": e.chunks}
            except SystemExit as e:  # e.g. no heap census: say so, measure the next one
                output[name] = {"error": str(e.code)}
            finally:
                peer.stop()

    react_then_remove(run_all, workdir)
    output["machine"]["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    output.update(rss_ratios(output.get("ours", {}), output.get("anvil", {})))
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
