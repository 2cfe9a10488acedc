"""External-node RPC with and without worker processes, in one run; prints JSON.

``python benchmarks/external_node_rpc.py [--workers 1] [--seconds 10] [--rounds 2]``
(from the repository, with the package importable):

1. starts a ``--dev`` main node, and two ENs following it: ``en-0`` (``--rpc-workers 0``, the
   RPC in the EN process) and ``en-N`` (``--rpc-workers N``);
2. keeps ``zkosctl load`` sending transfers to the main node at ``--rate`` tx/s, so both ENs
   replay blocks all along;
3. for ``--rounds`` rounds, alternately (en-0, en-N, en-0, ...), runs ``--readers`` concurrent
   ``eth_getBalance(..., "latest")`` loops against one EN for ``--seconds`` (one keep-alive
   connection each), and notes reads/s, latency p50 / p99, the EN's CPU per read (the EN
   process and its workers, from /proc) and how far the EN's tip fell behind the main node's;
4. prints one JSON object: per EN, each round's figures and their medians, and
   ``workers_to_single`` (reads/s and CPU per read of en-N over en-0).

Every process shares this machine (the main node, anvil, the load tool, both ENs and the
reader client, which runs in this process), so compare the two ENs within one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _checkout import use_checkout

use_checkout()

from twisted.internet.defer import ensureDeferred, gatherResults  # noqa: E402
from twisted.internet.task import react  # noqa: E402

from tests.integration.node_process import NodeProcess  # noqa: E402
from tests.integration.test_external_node import follower  # noqa: E402
from zkos_tw.load.client import make_client  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import cpu_seconds  # noqa: E402

ADDRESS = "0x36615Cf349d7F6344891B1e7CA7C72883F5dc049"


def percentile(values, fraction: float):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def tip(client) -> int:
    return int(await client.call("eth_blockNumber"), 16)


async def read_phase(reactor, en: NodeProcess, main_client, readers: int, seconds: float):
    client = make_client(reactor, en.rpc_url, "raw", readers)
    en_tip = make_client(reactor, en.rpc_url, "raw", 1)
    latencies: list[float] = []
    lags: list[int] = []
    errors = [0]
    stop_at = time.monotonic() + seconds

    async def reader():
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                await client.call("eth_getBalance", [ADDRESS, "latest"])
            except Exception:  # noqa: BLE001 - counted
                errors[0] += 1
                continue
            latencies.append(time.perf_counter() - started)

    async def lag_watch():
        while time.monotonic() < stop_at:
            lags.append(await tip(main_client) - await tip(en_tip))
            await _sleep(reactor, 0.25)

    cpu, wall = cpu_seconds(en.process.pid), time.monotonic()
    await gatherResults(
        [ensureDeferred(reader()) for _ in range(readers)] + [ensureDeferred(lag_watch())]
    )
    cpu, wall = cpu_seconds(en.process.pid) - cpu, time.monotonic() - wall
    await client.close()
    await en_tip.close()
    reads = len(latencies)
    return {
        "reads_per_s": round(reads / wall, 1),
        "p50_ms": round(1e3 * percentile(latencies, 0.5), 2) if reads else None,
        "p99_ms": round(1e3 * percentile(latencies, 0.99), 2) if reads else None,
        "en_cpu_us_per_read": round(1e6 * cpu / reads, 1) if reads else None,
        "en_cpu_share": round(cpu / wall, 2),
        "lag_blocks_max": max(lags) if lags else None,
        "errors": errors[0],
    }


def _sleep(reactor, seconds):
    from twisted.internet.task import deferLater

    return deferLater(reactor, seconds, lambda: None)


async def run(reactor, options) -> dict:
    base = tempfile.mkdtemp(prefix="zkos-en-rpc-")
    main = NodeProcess(os.path.join(base, "main"))
    ens = {}
    load = None
    try:
        main.start()
        await main.wait_healthy(90)
        for count in (0, options.workers):
            en = follower(os.path.join(base, f"en-{count}"), main, main.l1_port)
            en.args += ["--rpc-workers", str(count)]
            ens[f"en-{count}"] = en
            en.start()
        for en in ens.values():
            await en.wait_healthy(90)
        zkosctl = os.path.join(os.path.dirname(sys.executable), "zkosctl")
        duration = options.rounds * 2 * (options.seconds + 3) + 20
        load = subprocess.Popen(
            [zkosctl, "load", "--rpc-url", main.rpc_url, "--rate", str(options.rate)]
            + ["--duration", str(duration), "--senders", "20", "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        main_client = make_client(reactor, main.rpc_url, "raw", 1)
        start_tip = await tip(main_client)
        while await tip(main_client) < start_tip + 3:  # the load is being included
            await _sleep(reactor, 0.2)
        results: dict[str, list] = {name: [] for name in ens}
        for _ in range(options.rounds):
            for name, en in ens.items():
                # warm-up: every worker has answered once
                warm = make_client(reactor, en.rpc_url, "raw", options.readers)
                await gatherResults(
                    [ensureDeferred(warm.call("eth_chainId")) for _ in range(options.readers)]
                )
                await warm.close()
                results[name].append(
                    await read_phase(reactor, en, main_client, options.readers, options.seconds)
                )
        await main_client.close()
        summary = {}
        for name, rounds in results.items():
            summary[name] = {
                "rounds": rounds,
                "median": {
                    key: statistics.median(r[key] for r in rounds if r[key] is not None)
                    for key in ("reads_per_s", "p99_ms", "en_cpu_us_per_read", "lag_blocks_max")
                },
            }
        single, workers = summary["en-0"]["median"], summary[f"en-{options.workers}"]["median"]
        return {
            "workers": options.workers,
            "readers": options.readers,
            "seconds": options.seconds,
            "load_rate": options.rate,
            "cpus": os.cpu_count(),
            "loadavg_at_end": os.getloadavg()[0],
            "ens": summary,
            "workers_to_single": {
                "reads_per_s": round(workers["reads_per_s"] / single["reads_per_s"], 2),
                "en_cpu_per_read": round(
                    workers["en_cpu_us_per_read"] / single["en_cpu_us_per_read"], 2
                ),
            },
        }
    finally:
        if load is not None and load.poll() is None:
            load.terminate()
            load.wait()
        for en in ens.values():
            en.cleanup()
        main.cleanup()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="RPC workers of the second EN")
    parser.add_argument("--readers", type=int, default=8, help="concurrent reader loops")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per read phase")
    parser.add_argument("--rounds", type=int, default=2, help="phases per EN (alternating)")
    parser.add_argument("--rate", type=int, default=100, help="transfers/s sent to the main node")
    options = parser.parse_args(argv)

    async def go(reactor):
        print(json.dumps(await run(reactor, options), indent=2))

    react(lambda reactor: ensureDeferred(go(reactor)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
