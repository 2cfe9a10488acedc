"""An external node whose RPC runs in worker processes (``--rpc-workers 2``), following a
``--dev`` main node: every worker reads the EN's own LMDB and agrees with the main node after
each block, a transaction sent to the EN (forwarded to the main node by the worker) is
included once, a block filter installed through one worker is polled and uninstalled through
the other, and the EN's ``/metrics`` carries each worker's RPC metrics with a ``worker`` label.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.request

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.integration._workers import WORKERS, from_every_worker, rpc
from tests.integration.node_process import NodeProcess
from tests.integration.test_external_node import follower
from tests.integration.test_restart import RECIPIENTS, RICH, transfer


class KeptConnection:
    """A keep-alive HTTP connection, answered by one worker throughout."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method: str, params=()) -> tuple[dict, str]:
        """(the whole answer, the worker that answered)."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        self.connection.request("POST", "/", body, {"content-type": "application/json"})
        response = self.connection.getresponse()
        return json.loads(response.read()), response.getheader("x-zkos-rpc-worker")


def one_connection_per_worker(port: int, timeout: float = 30.0) -> dict[str, KeptConnection]:
    """worker index -> a keep-alive connection it answers (new connections until each has
    one; the kernel hands each to one worker)."""
    kept: dict[str, KeptConnection] = {}
    deadline = time.monotonic() + timeout
    while len(kept) < WORKERS and time.monotonic() < deadline:
        connection = KeptConnection(port)
        _, worker = connection.call("eth_chainId")
        if worker in kept:
            connection.connection.close()
        else:
            kept[worker] = connection
    if len(kept) < WORKERS:
        raise AssertionError(f"only workers {sorted(kept)} took connections")
    return kept


def until(predicate, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not after {timeout} s")


class ExternalNodeWorkerTests(TestCase):
    timeout = 120

    async def test_en_served_by_workers(self):
        base = os.path.abspath(self.mktemp())
        main = NodeProcess(os.path.join(base, "main"))
        self.addCleanup(main.cleanup)
        main.start()
        await main.wait_healthy()
        en = follower(os.path.join(base, "en"), main, main.l1_port)
        en.args += ["--rpc-workers", str(WORKERS)]
        self.addCleanup(en.cleanup)
        en.start()
        await en.wait_healthy()
        self.assertEqual(len(en.worker_pids()), WORKERS, en.output())
        await deferToThread(from_every_worker, en.rpc_port, "eth_chainId")

        def run():
            kept = one_connection_per_worker(en.rpc_port)
            answer, worker = kept["0"].call("eth_newBlockFilter")
            self.assertEqual(worker, "0")
            filter_id = answer["result"]
            installed_at = int(rpc(en.rpc_port, "eth_blockNumber")[0], 16)
            nonce = int(
                rpc(main.rpc_port, "eth_getTransactionCount", [RICH.address, "pending"])[0], 16
            )
            sent, checked = [], []
            for step in range(3):
                raw = "0x" + transfer(nonce + step, RECIPIENTS[1], step + 1).hex()
                tx_hash, through = rpc(en.rpc_port, "eth_sendRawTransaction", [raw])
                sent.append((tx_hash, through))
                # --dev: the main node answered once the transaction's block was stored.
                receipt, _ = rpc(main.rpc_port, "eth_getTransactionReceipt", [tx_hash])
                number = int(receipt["blockNumber"], 16)
                until(
                    lambda n=number: all(
                        int(v, 16) >= n
                        for v in from_every_worker(en.rpc_port, "eth_blockNumber").values()
                    ),
                    f"every EN worker at block {number}",
                )
                block, _ = rpc(main.rpc_port, "eth_getBlockByNumber", [hex(number), False])
                balance, _ = rpc(main.rpc_port, "eth_getBalance", [RECIPIENTS[1], hex(number)])
                checked.append(
                    (
                        block,
                        balance,
                        from_every_worker(
                            en.rpc_port, "eth_getBlockByNumber", [hex(number), False]
                        ),
                        from_every_worker(
                            en.rpc_port, "eth_getBalance", [RECIPIENTS[1], hex(number)]
                        ),
                        from_every_worker(en.rpc_port, "eth_getTransactionReceipt", [tx_hash]),
                    )
                )
            polled, worker = kept["1"].call("eth_getFilterChanges", [filter_id])
            self.assertEqual(worker, "1")
            latest = int(rpc(en.rpc_port, "eth_blockNumber")[0], 16)
            expected = [
                rpc(en.rpc_port, "eth_getBlockByNumber", [hex(n), False])[0]["hash"]
                for n in range(installed_at + 1, latest + 1)
            ]
            removed, _ = kept["1"].call("eth_uninstallFilter", [filter_id])
            gone, _ = kept["0"].call("eth_getFilterChanges", [filter_id])
            main_latest = int(rpc(main.rpc_port, "eth_blockNumber")[0], 16)
            included = []
            for n in range(main_latest + 1):
                included += rpc(main.rpc_port, "eth_getBlockByNumber", [hex(n), False])[0][
                    "transactions"
                ]
            return sent, checked, polled, expected, removed, gone, included

        sent, checked, polled, expected, removed, gone, included = await deferToThread(run)
        for block, balance, blocks, balances, receipts in checked:
            self.assertEqual({b["hash"] for b in blocks.values()}, {block["hash"]})
            self.assertEqual({b["stateRoot"] for b in blocks.values()}, {block["stateRoot"]})
            self.assertEqual(set(balances.values()), {balance})
            self.assertEqual({r["blockHash"] for r in receipts.values()}, {block["hash"]})
        for tx_hash, _ in sent:
            self.assertEqual(included.count(tx_hash), 1, tx_hash)
        # Installed on worker 0, polled through worker 1: the blocks since the install (the
        # EN may have stored another since the poll).
        hashes = polled.get("result")
        self.assertIsInstance(hashes, list, polled)
        self.assertEqual(hashes, expected[: len(hashes)])
        self.assertLessEqual({block["hash"] for block, *_ in checked}, set(hashes))
        self.assertEqual(removed.get("result"), True, removed)
        self.assertEqual(gone["error"]["message"], "filter not found", gone)

        def scrape():
            url = f"http://127.0.0.1:{en.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode()
            wanted = (
                'response_time_seconds_count{method="eth_newBlockFilter",worker="0"}',
                'response_time_seconds_count{method="eth_getFilterChanges",worker="1"}',
                'response_time_seconds_count{method="eth_chainId",worker="0"}',
                'response_time_seconds_count{method="eth_chainId",worker="1"}',
            )
            return text if all(w in text for w in wanted) else None

        text = await deferToThread(until, scrape, "the workers' RPC metrics on /metrics", 10.0)
        self.assertEqual(text.count("# TYPE response_time_seconds histogram"), 1)
