"""External-node figures: replay speed against production speed, and lag under load; JSON.

``python benchmarks/external_node.py [--txs N] [--senders S] [--rate R]`` (from the repository,
with the package importable):

1. starts a ``--dev`` main node and EN1 following it over ``tcp:`` (real ``twistd`` processes,
   ``tests/integration/node_process.py``'s ``NodeProcess``: temporary directories, free ports);
2. runs ``zkosctl load`` (a child process) against the main node while this process polls
   ``eth_blockNumber`` on both nodes every ``--poll`` seconds, noting when each block number was
   first seen on each node;
3. once the load is done and EN1 caught up, starts EN2 from an empty data directory, following
   the main node through a held pass-through proxy (``tests/integration/tamper_proxy.py``), so
   it idles at block 0 until released; then notes when it reaches each block;
4. prints one JSON object:

   * ``production``: the main node's speed over the blocks that carried the load (first seen of
     the block before the first to first seen of the last): blocks/s and transactions/s;
   * ``replay``: EN2's speed over the same blocks (catch-up, the main node idle);
   * ``replay_to_production``: the ratio of the two (goal ≥ 3);
   * ``lag``: EN1 behind the main node while under load, in blocks (main tip − EN1 tip at each
     poll) and in ms (per block, first seen on EN1 − first seen on the main node): p50, p99, max.

Every process shares this machine, so the main node, EN1, anvil, the load tool and the poller
compete for its cores; the poll interval bounds the time resolution.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from _checkout import use_checkout

use_checkout()

from twisted.internet import defer, task  # noqa: E402

from tests.integration.node_process import NodeProcess, http_client, sleep  # noqa: E402
from tests.integration.tamper_proxy import TamperProxy  # noqa: E402


def percentile(values, fraction: float):
    """Nearest-rank percentile; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def summary(values) -> dict:
    return {
        "p50": percentile(values, 0.50),
        "p99": percentile(values, 0.99),
        "max": max(values) if values else None,
        "samples": len(values),
    }


async def rpc(node: NodeProcess, method: str, *params):
    response = await http_client().post(
        node.rpc_url,
        data=json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        ).encode(),
        headers={b"Content-Type": [b"application/json"]},
        timeout=10,
    )
    return json.loads(await response.content())["result"]


async def tip(node: NodeProcess) -> int:
    return int(await rpc(node, "eth_blockNumber"), 16)


class FirstSeen:
    """When each block number was first seen on one node (``time.monotonic`` seconds)."""

    def __init__(self, node: NodeProcess):
        self.node = node
        self.at: dict[int, float] = {}
        self.tip = -1

    async def poll(self) -> int:
        number = await tip(self.node)
        now = time.monotonic()
        for n in range(self.tip + 1, number + 1):
            self.at[n] = now
        self.tip = max(self.tip, number)
        return self.tip


def follower(workdir: str, main: NodeProcess, replay_port: int | None = None) -> NodeProcess:
    return NodeProcess(
        workdir,
        [
            "--sequencer-block-replay-download-address",
            f"127.0.0.1:{replay_port or main.replay_port}",
            "--general-main-node-rpc-url",
            main.rpc_url,
        ],
        dev=False,
        l1_port=main.l1_port,
    )


async def transactions_in(node: NodeProcess, first: int, last: int) -> int:
    count = 0
    for number in range(first, last + 1):
        block = await rpc(node, "eth_getBlockByNumber", hex(number), False)
        count += len(block["transactions"])
    return count


async def measure(options, base: str) -> dict:
    main = NodeProcess(os.path.join(base, "main"))
    en1 = follower(os.path.join(base, "en1"), main)
    # EN2 reaches the main node through a held pass-through proxy: it starts, idles at block 0,
    # and its catch-up is timed from the release
    gate = TamperProxy(main.replay_port, tamper=False, held=True)
    await gate.listen()
    en2 = follower(os.path.join(base, "en2"), main, gate.port)
    try:
        main.start()
        await main.wait_healthy(60)
        en1.start()
        await en1.wait_healthy(60)
        seen_main, seen_en1 = FirstSeen(main), FirstSeen(en1)
        await seen_main.poll()
        await seen_en1.poll()
        start_tip = seen_main.tip
        zkosctl = os.path.join(os.path.dirname(sys.executable), "zkosctl")
        load_args = [
            zkosctl,
            "load",
            "--rpc-url",
            main.rpc_url,
            "--senders",
            str(options.senders),
            "--txs",
            str(options.txs),
            "--json",
        ]
        if options.rate:
            load_args += ["--rate", str(options.rate)]
        load = subprocess.Popen(
            load_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        lag_blocks: list[int] = []
        while load.poll() is None:
            main_tip, en1_tip = await defer.gatherResults(
                [defer.ensureDeferred(seen_main.poll()), defer.ensureDeferred(seen_en1.poll())]
            )
            if main_tip > start_tip:
                lag_blocks.append(max(0, main_tip - en1_tip))
            await sleep(options.poll)
        out, err = load.communicate()
        if load.returncode not in (0, 3):
            raise SystemExit(f"zkosctl load failed ({load.returncode}): {err.strip()}")
        load_result = json.loads(out)
        while seen_en1.tip < seen_main.tip:
            await seen_en1.poll()
            await sleep(options.poll)
        first = load_result["blocks"]["first"]
        last = load_result["blocks"]["last"]
        txs = await transactions_in(main, first, last)
        lag_ms = [
            round((seen_en1.at[n] - seen_main.at[n]) * 1000, 1)
            for n in range(first, last + 1)
            if n in seen_main.at and n in seen_en1.at
        ]
        production_seconds = seen_main.at[last] - seen_main.at[first - 1]

        en2.start()
        await en2.wait_healthy(60)
        seen_en2 = FirstSeen(en2)
        if await seen_en2.poll() != 0:
            raise SystemExit("EN2 has blocks before the proxy let it through")
        gate.release()
        while seen_en2.tip < last:
            await seen_en2.poll()
            await sleep(options.poll)
        replay_seconds = seen_en2.at[last] - seen_en2.at[first - 1]
        blocks = last - first + 1
        return {
            "benchmark": "external_node",
            "load": {
                key: load_result.get(key)
                for key in ("submitted", "included", "included_tps", "senders", "kind")
            },
            "blocks": {"first": first, "last": last, "count": blocks, "transactions": txs},
            "production": {
                "seconds": round(production_seconds, 3),
                "blocks_per_second": round(blocks / production_seconds, 1),
                "transactions_per_second": round(txs / production_seconds, 1),
            },
            "replay": {
                "seconds": round(replay_seconds, 3),
                "blocks_per_second": round(blocks / replay_seconds, 1),
                "transactions_per_second": round(txs / replay_seconds, 1),
            },
            "replay_to_production": round(production_seconds / replay_seconds, 2),
            "lag": {"blocks": summary(lag_blocks), "ms": summary(lag_ms)},
            "poll_seconds": options.poll,
        }
    finally:
        for node in (en2, en1, main):
            node.cleanup()
        await gate.close()


def main(argv=None) -> None:
    """Parse the options, measure, print the JSON report; exits (``task.react``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--txs", type=int, default=10000)
    parser.add_argument("--senders", type=int, default=100)
    parser.add_argument("--rate", type=int, default=0, help="submission rate (0: all at once)")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between tip polls")
    options = parser.parse_args(argv)

    async def run(_reactor):
        with tempfile.TemporaryDirectory() as base:
            print(json.dumps(await measure(options, base), indent=2))

    task.react(lambda reactor: defer.ensureDeferred(run(reactor)), [])


if __name__ == "__main__":
    main()
