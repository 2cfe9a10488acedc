"""A real Prometheus (Debian's ``prometheus`` package) scrapes a dev node under a little load, and
the block-number series comes back through Prometheus's HTTP API (issue #17 item 3)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, TestCase
from web3 import Web3

from tests.integration.node_process import NodeProcess, free_port, require_anvil

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
BOB = Web3.to_checksum_address("0x00000000000000000000000000000000000b0b01")
METRIC = 'execution_block_number{stage="execute"}'


def find_prometheus() -> str:
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None
    )
    if found is None:
        raise SkipTest("no prometheus binary: `make test` installs Debian's prometheus package")
    return found


def query(port: int, promql: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


class PrometheusTests(TestCase):
    timeout = 120

    async def test_block_number_series_through_prometheus(self):
        """Prometheus scrapes /metrics every second; after transfers, the queried
        execution_block_number equals the node's block number and has grown."""
        binary = find_prometheus()
        require_anvil()
        workdir = os.path.abspath(self.mktemp())
        node = NodeProcess(workdir)
        self.addCleanup(node.cleanup)
        node.start()
        await node.wait_healthy()

        prom_port = free_port()
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: zkos\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{node.metrics_port}']\n"
            )
        log = open(os.path.join(workdir, "prometheus.log"), "wb")
        self.addCleanup(log.close)
        prometheus = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={os.path.join(workdir, 'tsdb')}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.addCleanup(prometheus.wait)
        self.addCleanup(prometheus.kill)
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))

        def wait_for_series(minimum: int) -> int:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                assert prometheus.poll() is None, "prometheus exited; see prometheus.log"
                try:
                    result = query(prom_port, METRIC)
                except OSError:
                    result = []
                if result and int(float(result[0]["value"][1])) >= minimum:
                    return int(float(result[0]["value"][1]))
                time.sleep(0.5)
            raise AssertionError(f"{METRIC} never reached {minimum} in Prometheus")

        def load() -> int:
            account = Account.from_key(KEY)
            nonce = w3.eth.get_transaction_count(account.address)
            hashes = []
            for i in range(5):
                signed = account.sign_transaction(
                    {
                        "to": BOB,
                        "value": 1,
                        "gas": 21000,
                        "nonce": nonce + i,
                        "chainId": 270,
                        "maxFeePerGas": 2000,
                        "maxPriorityFeePerGas": 1,
                    }
                )
                hashes.append(w3.eth.send_raw_transaction(signed.raw_transaction))
            for tx_hash in hashes:
                w3.eth.wait_for_transaction_receipt(tx_hash, timeout=20, poll_latency=0.1)
            return w3.eth.block_number

        before = await deferToThread(wait_for_series, 1)
        tip = await deferToThread(load)
        self.assertGreater(tip, before)
        after = await deferToThread(wait_for_series, tip)
        self.assertEqual(after, tip)
        series = await deferToThread(query, prom_port, f"max_over_time({METRIC}[1m])")
        self.assertEqual(int(float(series[0]["value"][1])), tip)
