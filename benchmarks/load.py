"""Load benchmark, ours against anvil in one run: ``python benchmarks/load.py``; prints JSON.

1. Starts our node (``twistd -n zkos --dev`` from this interpreter's environment, from
   ``dev-genesis.json``, which funds the rich account at genesis; a fresh temporary data
   directory and free ports), runs ``zkosctl load``'s run against it, stops it.
2. Starts anvil (``--block-time 0.1``, the same rich account through the zkSync rich-wallet
   mnemonic, whose first key is the rich key) on a free port, runs the same load, stops it.
3. Prints both results, the CPU seconds each peer's process used during its run, and
   ``ours / anvil`` for the included TPS.

``--rpc-workers 0,2`` runs our node once per worker count (``ours-workers-N``); ``--kind erc20``
and ``--kind mixed`` (ETH and token transfers alternating, plus state readers at
``--read-rate``) always run with anvil. The peers run one after the other, never at the same time, so neither takes CPU from the
other. ``--profile-node DIR`` records our node with py-spy (``py-spy record``, all threads) while
it is under load and writes ``DIR/node.py-spy.txt`` and the top functions to the JSON.
``--rpc-calls N`` first times N single and N batched ``eth_blockNumber`` calls on each peer:
the per-HTTP-request cost apart from the method's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from twisted.internet.defer import ensureDeferred
from twisted.internet.task import react

from zkos_tw.devnet.anvil import AnvilError, find_anvil
from zkos_tw.load.client import make_client
from zkos_tw.load.runner import LoadConfig, LoadError, LoadRun
from zkos_tw.load.summary import add_ratios, summarize_runs

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RICH_MNEMONIC = "stuff slice staff easily soup parent arm payment cotton trade scatter struggle"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_rpc(url: str, process: subprocess.Popen, log_path: str, timeout: float = 60.0) -> None:
    """Block until ``eth_blockNumber`` answers at ``url`` (before the reactor runs)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(log_path, errors="replace") as f:
                tail = f.read()[-2000:]
            raise SystemExit(f"load benchmark: {process.args[0]} exited while starting:\n{tail}")
        try:
            request = urllib.request.Request(url, body, {"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=2) as answer:
                if b"result" in answer.read():
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"load benchmark: nothing answers at {url} after {timeout:g} s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, its waited-for children and its live children (the RPC
    workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for child in [pid, *child_pids(pid)]:
        try:
            with open(f"/proc/{child}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / ticks
    return total


def own_cpu_seconds(pid: int) -> float:
    """utime + stime of the process ``pid`` alone (our node without its RPC workers)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int, mark: bytes = b"zkos_tw.rpc.worker") -> list[int]:
    """The live children of ``pid`` whose command line holds ``mark``: by default the RPC
    workers (not anvil, whose CPU is the L1's, not the node's)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(x) for x in f.read().split()]
    except OSError:
        return []
    found = []
    for child in children:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if mark in f.read():
                    found.append(child)
        except OSError:
            pass
    return found


def l1_cpu_seconds(pid: int) -> float:
    """utime + stime of the dev L1 (the anvil child of our node under ``--dev``): the L1 work
    the rollup pipeline causes runs there, on the same cores as the node."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for child in child_pids(pid, b"anvil"):
        try:
            with open(f"/proc/{child}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:13]) / ticks
    return total


class Peer:
    """A child process serving JSON-RPC at ``url``; ``stop()`` ends it (SIGTERM, then SIGKILL)."""

    def __init__(self, name: str, args: list[str], url: str, workdir: str, env=None):
        self.name = name
        self.url = url
        self.log_path = os.path.join(workdir, f"{name}.log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            args,
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        wait_rpc(url, self.process, self.log_path)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_ours(
    workdir: str,
    genesis: str,
    dev: bool,
    pipeline: bool = True,
    workers: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> Peer:
    twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
    rpc_port = free_port()
    args = [
        twistd, "--pidfile=", "-n", "zkos",
        "--genesis-genesis-input-path", genesis,
        "--general-rocks-db-path", os.path.join(workdir, "db" if pipeline else "db-no-pipeline"),
        "--rpc-address", f"127.0.0.1:{rpc_port}",
        "--general-l1-rpc-url", f"http://127.0.0.1:{free_port()}",
        "--general-prometheus-port", str(free_port()),
        "--status-server-address", f"127.0.0.1:{free_port()}",
    ]  # fmt: skip
    if dev:
        # Measure the reference's answer on pool admission (§3.6), not --dev's answer on
        # inclusion (docs/rpc.md).
        args += ["--dev", "--rpc-send-raw-transaction-wait-timeout", "0s"]
        l1_state = os.path.join(REPO_ROOT, "zkos-l1-state.json")
        if os.path.exists(l1_state):
            args += ["--dev-l1-state-path", l1_state]
    args += ["--sequencer-block-replay-server-address", f"127.0.0.1:{free_port()}"]
    args += ["--prover-api-address", f"127.0.0.1:{free_port()}"]
    if not pipeline:
        args += ["--l1-sender-enabled", "false"]
    if workers is not None:
        args += ["--rpc-workers", str(workers)]
    args += list(extra_args)
    env = dict(os.environ)
    env.setdefault("ZKOS_TOOLS_DIR", os.path.join(REPO_ROOT, ".tools"))
    name = "zkos" if pipeline else "zkos-no-pipeline"
    if workers is not None:
        name += f"-workers-{workers}"
    return Peer(name, args, f"http://127.0.0.1:{rpc_port}", workdir, env)


def start_anvil(workdir: str, block_time: float) -> Peer:
    port = free_port()
    args = [
        find_anvil(None), "--host", "127.0.0.1", "--port", str(port),
        "--block-time", f"{block_time:g}", "--mnemonic", RICH_MNEMONIC,
    ]  # fmt: skip
    return Peer("anvil", args, f"http://127.0.0.1:{port}", workdir)


class Profiler:
    """``py-spy record`` attached to a pid while the load runs."""

    def __init__(self, pid: int, out_dir: str, gil: bool = False):
        # --gil samples only the thread holding the GIL: what serialises the node
        self.raw_path = os.path.join(out_dir, "node.gil.py-spy.txt" if gil else "node.py-spy.txt")
        spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
        if spy is None:
            raise SystemExit("load benchmark: --profile-node needs py-spy (pip install py-spy)")
        self.process = subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--threads", "--rate", "200",
             *(["--gil"] if gil else ["--idle"]),
             "--format", "raw", "--output", self.raw_path, "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip

    def stop(self) -> dict:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=60)
        if not os.path.exists(self.raw_path):
            return {"error": err.decode(errors="replace")[-500:]}
        return top_functions(self.raw_path)


#: frames where a thread waits (not CPU): the worker pool's queue, the reactor's epoll
IDLE_FRAMES = (
    "Condition.wait (threading.py",
    "EPollReactor.doPoll (twisted/internet/epollreactor.py:227",
)
#: frames worth naming in the per-thread breakdown (ours and the libraries doing the work)
INTERESTING = ("zkos_tw/", "coincurve/", "rlp/", "lmdb", "json/")


def top_functions(raw_path: str, limit: int = 20) -> dict:
    """Per thread: samples, how busy it was, and the functions the busy samples were in
    (inclusive, as a share of the thread's busy samples; ours and crypto/RLP/LMDB/JSON frames
    only), from py-spy's raw (collapsed stacks) output; plus the top self-time functions."""
    threads: dict[str, dict] = {}
    own: dict[str, int] = {}
    busy_total = 0
    with open(raw_path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            samples = int(count)
            frames = stack.split(";")
            thread = threads.setdefault(frames[0], {"samples": 0, "busy": 0, "inclusive": {}})
            thread["samples"] += samples
            if frames[-1].startswith(IDLE_FRAMES):
                continue
            thread["busy"] += samples
            busy_total += samples
            own[frames[-1]] = own.get(frames[-1], 0) + samples
            for frame in set(frames[1:]):
                if any(mark in frame for mark in INTERESTING):
                    thread["inclusive"][frame] = thread["inclusive"].get(frame, 0) + samples
    report = {"raw": raw_path, "threads": {}, "self_pct_of_busy": []}
    for name, thread in sorted(threads.items(), key=lambda item: -item[1]["busy"]):
        busy = thread["busy"] or 1
        ranked = sorted(thread["inclusive"].items(), key=lambda item: -item[1])[:limit]
        report["threads"][name] = {
            "samples": thread["samples"],
            "busy_pct": round(100 * thread["busy"] / (thread["samples"] or 1), 1),
            "inclusive_pct_of_busy": [[frame, round(100 * n / busy, 1)] for frame, n in ranked],
        }
    ranked = sorted(own.items(), key=lambda item: -item[1])[:limit]
    report["self_pct_of_busy"] = [[f, round(100 * n / (busy_total or 1), 1)] for f, n in ranked]
    return report


async def call_cost(reactor, url: str, pid: int, calls: int) -> dict:
    """The peer's CPU (and our wall time) per ``eth_blockNumber``: ``calls`` single requests
    one after the other over one keep-alive connection, then the same number in batches of 100.
    Shows the per-HTTP-request cost apart from the method's."""
    client = make_client(reactor, url, "raw", 1)
    try:
        await client.call("eth_blockNumber")
        result = {"calls": calls}
        for name, batch in (("single", 1), ("batch_of_100", 100)):
            cpu, wall = cpu_seconds(pid), time.perf_counter()
            for _ in range(max(1, calls // batch)):
                if batch == 1:
                    await client.call("eth_blockNumber")
                else:
                    await client.batch([("eth_blockNumber", [])] * batch)
            cpu, wall = cpu_seconds(pid) - cpu, time.perf_counter() - wall
            result[name] = {
                "peer_cpu_us_per_call": round(1e6 * cpu / calls, 1),
                "wall_us_per_call": round(1e6 * wall / calls, 1),
            }
        return result
    finally:
        await client.close()


async def measure(
    reactor,
    peer: Peer,
    config: LoadConfig,
    profile_dir: str | None,
    rpc_calls: int = 0,
    profile_gil: bool = False,
) -> dict:
    costs = await call_cost(reactor, peer.url, peer.process.pid, rpc_calls) if rpc_calls else None
    before = cpu_seconds(peer.process.pid)
    own_before = own_cpu_seconds(peer.process.pid)
    l1_before = l1_cpu_seconds(peer.process.pid)
    profiler = Profiler(peer.process.pid, profile_dir, profile_gil) if profile_dir else None
    try:
        record = await LoadRun(config, reactor).run()
    except LoadError as e:
        raise SystemExit(f"load benchmark: {peer.name}: {e}") from None
    finally:
        profile = profiler.stop() if profiler else None
    result = record.result()
    used = cpu_seconds(peer.process.pid) - before
    result["peer_cpu_seconds"] = round(used, 2)
    if peer.name.startswith("zkos"):
        # the embedded dev L1 (not in peer_cpu_seconds): mostly the pipeline's L1 transactions
        result["l1_cpu_seconds"] = round(l1_cpu_seconds(peer.process.pid) - l1_before, 2)
    # CPU per included transaction (set-up included): steadier than TPS on a shared machine
    result["peer_cpu_us_per_tx"] = (
        round(1e6 * used / result["included"]) if result["included"] else None
    )
    if peer.name.startswith("zkos") and result["included"]:
        # the node process alone (the sequencer: admission, execution, sealing, storage)
        own = own_cpu_seconds(peer.process.pid) - own_before
        result["node_cpu_us_per_tx"] = round(1e6 * own / result["included"])
    if costs is not None:
        result["rpc_call_cost"] = costs
    if profile is not None:
        result["profile"] = profile
    return result


def require_anvil(parser: argparse.ArgumentParser) -> None:
    """Stop with a usage error when no anvil binary is found (a run that compares against it)."""
    try:
        find_anvil(None)
    except AnvilError as e:
        parser.error(str(e))


def react_then_remove(run_all, workdir: str) -> None:
    """Run ``run_all(reactor)`` under ``task.react``, then remove ``workdir``.

    ``react`` always exits; a clean exit (code 0 or None) returns here, a failing one is raised
    again after the removal.
    """
    try:
        react(lambda reactor: ensureDeferred(run_all(reactor)), [])
    except SystemExit as e:
        if e.code not in (0, None):
            shutil.rmtree(workdir, ignore_errors=True)
            raise
    shutil.rmtree(workdir, ignore_errors=True)


def run_line(index: int, result: dict, names: list[str]) -> dict:
    """The one line ``--runs`` prints to stderr after each run: its ratios and key numbers."""
    line = {"run": index + 1, "loadavg_before": result.get("loadavg_before")}
    line.update({k: v for k, v in result.items() if k.startswith("included_tps_ratio_")})
    for name in names:
        peer = result.get(name) or {}
        line[name] = {
            "included_tps": peer.get("included_tps"),
            "inclusion_p99_ms": (peer.get("inclusion_latency_ms") or {}).get("p99"),
            "block_number_p99_ms": (peer.get("block_number_latency_ms") or {}).get("p99"),
            "cpu_us_per_tx": peer.get("peer_cpu_us_per_tx"),
        }
    return line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=20_000)
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--kind", default="transfer", choices=("transfer", "erc20", "mixed"))
    parser.add_argument(
        "--read-rate",
        type=float,
        default=None,
        help="state reads per second during the load (default: 200 for --kind mixed, else none)",
    )
    parser.add_argument(
        "--rpc-workers",
        default=None,
        metavar="N,M",
        help="run ours once per value with --rpc-workers N (results as ours-workers-N); "
        "default: once, with the node's default",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="repeat the whole comparison N times (fresh nodes each time); with N > 1 prints "
        "every run under runs and their median/min/max under summary",
    )
    parser.add_argument("--client", default="raw", choices=("raw", "treq"))
    parser.add_argument("--rate", type=float, default=None, help="pace submission (tx/s)")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--genesis", default=os.path.join(REPO_ROOT, "dev-genesis.json"))
    parser.add_argument("--anvil-block-time", type=float, default=0.1)
    parser.add_argument(
        "--peers",
        default="ours,anvil",
        help="comma-separated: ours, ours-no-pipeline (l1_sender_enabled=false), anvil",
    )
    parser.add_argument("--no-dev", action="store_true", help="run our node without --dev")
    parser.add_argument(
        "--node-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for our node's twistd zkos (repeatable; "
        "--node-arg=--batcher-batch-timeout --node-arg=1s)",
    )
    parser.add_argument("--profile-node", metavar="DIR", help="py-spy our node into DIR")
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="with --profile-node: sample only the thread holding the GIL",
    )
    parser.add_argument(
        "--rpc-calls",
        type=int,
        default=0,
        metavar="N",
        help="before the load, time N single and N batched eth_blockNumber calls per peer",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    peers = [p for p in args.peers.split(",") if p]
    unknown = set(peers) - {"ours", "ours-no-pipeline", "anvil"}
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    if args.kind != "transfer" and "anvil" not in peers:
        parser.error(f"--kind {args.kind} runs with anvil in the same run (add it to --peers)")
    worker_counts = (
        [None] if args.rpc_workers is None else [int(n) for n in args.rpc_workers.split(",")]
    )
    read_rate = (
        args.read_rate if args.read_rate is not None else (200.0 if args.kind == "mixed" else None)
    )
    # ours with each worker count, in the order asked; anvil where --peers puts it
    runs = []
    for name in peers:
        if name == "ours":
            runs += [("ours" if n is None else f"ours-workers-{n}", n) for n in worker_counts]
        else:
            runs.append((name, None))
    if "anvil" in peers:
        require_anvil(parser)
    config = LoadConfig(
        senders=args.senders,
        txs=args.txs,
        batch_size=args.batch_size,
        connections=args.connections,
        kind=args.kind,
        client=args.client,
        timeout=args.timeout,
        rate=args.rate,
        read_rate=read_rate,
    )
    output = {
        "benchmark": "load",
        "settings": {
            "txs": args.txs,
            "senders": args.senders,
            "batch_size": args.batch_size,
            "connections": args.connections,
            "kind": args.kind,
            "client": args.client,
            "rate": args.rate,
            "read_rate": read_rate,
            "rpc_workers": args.rpc_workers,
            "runs": args.runs,
            "anvil_block_time": args.anvil_block_time,
            "ours_dev": not args.no_dev,
            "node_args": args.node_arg,
        },
        "machine": {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()[0]},
    }
    workdir = tempfile.mkdtemp(prefix="zkos-bench-load-")
    names = [name for name, _ in runs]
    results = []

    async def run_once(reactor, index: int) -> dict:
        """One ours-then-anvil comparison, in a fresh data directory."""
        rundir = os.path.join(workdir, f"run-{index}")
        os.makedirs(rundir)
        result = {"loadavg_before": round(os.getloadavg()[0], 2)}
        try:
            for name, workers in runs:
                if name != "anvil":
                    pipeline = name != "ours-no-pipeline"
                    peer = start_ours(
                        rundir, args.genesis, not args.no_dev, pipeline, workers,
                        tuple(args.node_arg),
                    )  # fmt: skip
                    profile_dir = args.profile_node
                else:
                    peer = start_anvil(rundir, args.anvil_block_time)
                    profile_dir = None
                try:
                    url_config = LoadConfig(**{**config.__dict__, "rpc_url": peer.url})
                    result[name] = await measure(
                        reactor, peer, url_config, profile_dir, args.rpc_calls, args.profile_gil
                    )
                finally:
                    peer.stop()
        finally:
            shutil.rmtree(rundir, ignore_errors=True)
        result["loadavg_after"] = round(os.getloadavg()[0], 2)
        add_ratios(result, names)
        return result

    async def run_all(reactor):
        for index in range(args.runs):
            results.append(await run_once(reactor, index))
            if args.runs > 1:
                print(json.dumps(run_line(index, results[-1], names)), file=sys.stderr, flush=True)

    react_then_remove(run_all, workdir)
    output["machine"]["loadavg_after"] = os.getloadavg()[0]
    if args.runs == 1:
        output.update(results[0])
    else:
        output["runs"] = results
        output["summary"] = summarize_runs(results, names)
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
