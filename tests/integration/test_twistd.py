"""``twistd -n zkos --dev`` as a real subprocess: health, metrics, signals, no orphans."""

import json
import os
import signal
import socket
import subprocess

from prometheus_client.parser import text_string_to_metric_families
from twisted.trial.unittest import TestCase

from tests.integration.node_process import (
    NodeProcess,
    alive,
    http_client,
    require_anvil,
    sleep,
    twistd_path,
)


class DevNodeTests(TestCase):
    """A dev node with anvil as its L1."""

    timeout = 120

    def node(self, args=("--dev",), env=None) -> NodeProcess:
        require_anvil()
        node = NodeProcess(os.path.abspath(self.mktemp()), list(args), env)
        self.addCleanup(node.cleanup)
        node.start()
        return node

    async def assert_gone(self, pids, timeout=10.0):
        waited = 0.0
        while any(alive(pid) for pid in pids):
            if waited > timeout:
                self.fail(f"processes still alive: {[p for p in pids if alive(p)]}")
            await sleep(0.1)
            waited += 0.1

    async def test_health_metrics_and_sigterm(self):
        """Health answers, /metrics parses, and SIGTERM stops both the node and anvil."""
        node = self.node()
        health = await node.wait_healthy()
        self.assertEqual(health["healthy"], True)
        self.assertEqual(health["role"], "main_node")
        # Block 0 was written from genesis.json into the LMDB environment; block 1 holds the
        # genesis upgrade and the deposits of the L1 state.
        self.assertEqual(health["last_block"]["number"], 1)
        self.assertTrue(os.path.exists(os.path.join(node.workdir, "db", "data.mdb")))

        response = await http_client().get(f"http://127.0.0.1:{node.metrics_port}/metrics")
        self.assertEqual(response.code, 200)
        families = {f.name: f for f in text_string_to_metric_families(await response.text())}
        self.assertIn("process_started_at", families)
        self.assertEqual(families["chain_id"].samples[0].value, 270)
        self.assertIn("startup_time", families)

        # The L1 really is anvil, answering JSON-RPC on the configured port.
        answer = await http_client().post(
            f"http://127.0.0.1:{node.l1_port}",
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        )
        self.assertIn("result", await answer.json())
        anvil = node.anvil_pids()
        self.assertEqual(len(anvil), 1, node.output())

        node.signal(signal.SIGTERM)
        # twistd shuts down cleanly, then re-raises the signal so the exit status reports it.
        self.assertIn(await node.wait_exit(), (0, -signal.SIGTERM), node.output())
        self.assertIn("Server Shut Down", node.output())
        await self.assert_gone(anvil)

    async def test_sigint_and_json_logs(self):
        """SIGINT (Ctrl-C) stops everything too; log_format=json writes JSON lines."""
        env = dict(os.environ, log_format="json")
        node = self.node(env=env)
        await node.wait_healthy()
        anvil = node.anvil_pids()
        self.assertEqual(len(anvil), 1)
        node.signal(signal.SIGINT)
        self.assertIn(await node.wait_exit(), (0, -signal.SIGINT), node.output())
        await self.assert_gone(anvil)
        lines = [line for line in node.output().splitlines() if line.strip()]
        events = [json.loads(line) for line in lines]
        self.assertTrue(any("zkos-tw node is running" in e.get("log_format", "") for e in events))

    async def test_sigkill_node_takes_anvil_down(self):
        """Even when the node is killed with SIGKILL, anvil does not outlive it."""
        node = self.node()
        await node.wait_healthy()
        anvil = node.anvil_pids()
        self.assertEqual(len(anvil), 1)
        node.signal(signal.SIGKILL)
        await node.wait_exit()
        await self.assert_gone(anvil)

    async def test_no_l1_is_one_line(self):
        """Without --dev and with nothing at the L1 URL: one start-up line naming L1, exit 1."""
        node = NodeProcess(os.path.abspath(self.mktemp()), dev=False)
        self.addCleanup(node.cleanup)
        node.start()
        code = await node.wait_exit(timeout=60)
        output = node.output()
        self.assertEqual(code, 1, output)
        failed = [line for line in output.splitlines() if "start-up failed" in line]
        self.assertEqual(len(failed), 1, output)
        self.assertIn(f"L1 at http://127.0.0.1:{node.l1_port}", failed[0])

    async def test_failed_start_leaves_nothing(self):
        """anvil cannot bind its port: start-up fails with one line, exit 1, no orphan."""
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.addCleanup(blocker.close)
        node = NodeProcess(os.path.abspath(self.mktemp()), ["--dev"])
        require_anvil()
        blocker.bind(("127.0.0.1", node.l1_port))
        blocker.listen(1)
        self.addCleanup(node.cleanup)
        node.start()
        code = await node.wait_exit(timeout=60)
        output = node.output()
        self.assertEqual(code, 1, output)
        failed = [line for line in output.splitlines() if "start-up failed" in line]
        self.assertEqual(len(failed), 1, output)
        self.assertIn("anvil", failed[0])
        self.assertEqual(node.anvil_pids(), [])

    def test_bad_value_is_one_line(self):
        """A bad environment value: one line on stderr naming it, exit status 1."""
        env = dict(os.environ, sequencer_block_time="fast")
        result = subprocess.run(
            [twistd_path(), "--pidfile=", "-n", "zkos"],
            env=env,
            capture_output=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 1)
        lines = result.stderr.decode().strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn("sequencer_block_time='fast'", lines[0])
        self.assertIn("expected a duration", lines[0])

    def test_help_lists_options(self):
        """`twistd zkos --help` lists every option."""
        from zkos_tw.config import PARAMETERS

        result = subprocess.run([twistd_path(), "zkos", "--help"], capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0)
        text = result.stdout.decode()
        for p in PARAMETERS.values():
            self.assertIn(f"--{p.option}=", text)
