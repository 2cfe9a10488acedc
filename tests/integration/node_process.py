"""Helpers for integration tests: free ports, a real ``twistd zkos`` child, process checks."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys

from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import SkipTest
from twisted.web.client import Agent, HTTPConnectionPool

from tests.fixtures import REPO_ROOT
from zkos_tw.devnet.anvil import AnvilError, find_anvil

GENESIS = os.path.join(REPO_ROOT, "genesis.json")
L1_STATE = os.path.join(REPO_ROOT, "zkos-l1-state.json")


def http_client() -> HTTPClient:
    """A treq client without persistent connections, so no test leaves the reactor dirty."""
    return HTTPClient(Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False)))


# Ports handed out here come from below Linux's ephemeral range (32768-60999): a port the
# kernel picked with bind(0) is also what it picks for the source port of a new outgoing
# connection, and on a busy machine (many clients, parallel trial jobs) such a connection took
# a port between our pick and the server's bind ("Address already in use").
_PORT_RANGE = (20000, 32768)
_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, outside the ephemeral range
    and not handed out before by this process."""
    while True:
        port = random.randrange(*_PORT_RANGE)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def require_anvil() -> str:
    """The anvil binary; skip (or fail on CI) when the tools are not installed."""
    try:
        return find_anvil(None)
    except AnvilError as e:
        if os.environ.get("CI"):
            raise AssertionError(f"anvil is required on CI: {e}") from None
        raise SkipTest(str(e)) from None


def twistd_path() -> str:
    """The twistd script of the running interpreter's environment."""
    path = os.path.join(os.path.dirname(sys.executable), "twistd")
    if not os.path.exists(path):
        raise SkipTest(f"no twistd next to {sys.executable}")
    return path


def sleep(seconds: float):
    return deferLater(reactor, seconds, lambda: None)


def pid_state(pid: int) -> str | None:
    """The process state letter from /proc (``R``, ``S``, ``Z``...) or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    return pid_state(pid) not in (None, "Z")


def find_processes(*needles: str) -> list[int]:
    """PIDs whose command line contains every needle."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(n in cmdline for n in needles) and alive(int(entry)):
            found.append(int(entry))
    return found


class NodeProcess:
    """A ``twistd -n zkos`` child process in a temporary directory, on free ports.

    With ``dev`` (the default) the node runs its own anvil (``--dev``) on a free port with our
    ``zkos-l1-state.json``; without it, pass ``l1_port`` of an L1 you run (an external node
    passes its main node's).
    """

    def __init__(
        self,
        workdir: str,
        args: list[str] = (),
        env: dict | None = None,
        *,
        dev: bool = True,
        l1_port: int | None = None,
    ):
        self.workdir = workdir
        self.l1_port = l1_port or free_port()
        self.metrics_port = free_port()
        self.status_port = free_port()
        self.rpc_port = free_port()
        self.replay_port = free_port()
        self.prover_api_port = free_port()
        self.rpc_url = f"http://127.0.0.1:{self.rpc_port}"
        self.log_path = os.path.join(workdir, "node.log")
        self.args = [
            twistd_path(),
            "--pidfile=",
            "-n",
            "zkos",
            "--general-l1-rpc-url",
            f"http://127.0.0.1:{self.l1_port}",
            "--general-prometheus-port",
            str(self.metrics_port),
            "--status-server-address",
            f"127.0.0.1:{self.status_port}",
            "--rpc-address",
            f"127.0.0.1:{self.rpc_port}",
            "--sequencer-block-replay-server-address",
            f"127.0.0.1:{self.replay_port}",
            "--prover-api-address",
            f"127.0.0.1:{self.prover_api_port}",
            "--genesis-genesis-input-path",
            GENESIS,
            "--general-rocks-db-path",
            os.path.join(workdir, "db"),
            *(["--dev", "--dev-l1-state-path", L1_STATE] if dev else []),
            *args,
        ]
        self.dev = dev
        self.env = dict(os.environ if env is None else env)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start (or, after it exited, start again on the same data directory and ports)."""
        os.makedirs(self.workdir, exist_ok=True)
        if getattr(self, "_log", None):
            self._log.close()
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.args,
            cwd=self.workdir,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def output(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    async def health(self):
        """(code, body) of GET /status/health, or None when nothing answers."""
        try:
            response = await http_client().get(
                f"http://127.0.0.1:{self.status_port}/status/health", timeout=2
            )
            return response.code, json.loads(await response.content())
        except Exception:  # noqa: BLE001 - connection refused while starting
            return None

    async def wait_healthy(self, timeout: float = 40.0) -> dict:
        """Poll the health endpoint until it answers 200."""
        waited = 0.0
        while waited < timeout:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"node exited with {self.process.returncode} while starting:\n{self.output()}"
                )
            answer = await self.health()
            if answer is not None and answer[0] == 200:
                last = answer[1]["last_block"]
                # A dev node's block 1 holds the deposit that funds the rich account.
                if not self.dev or (last and last["number"] >= 1):
                    return answer[1]
            await sleep(0.2)
            waited += 0.2
        raise AssertionError(f"node not healthy after {timeout}s:\n{self.output()}")

    async def wait_exit(self, timeout: float = 20.0) -> int:
        """Wait for the node process to exit; return its exit status."""
        waited = 0.0
        while self.process.poll() is None:
            if waited > timeout:
                raise AssertionError(f"node still running after {timeout}s:\n{self.output()}")
            await sleep(0.1)
            waited += 0.1
        return self.process.returncode

    def anvil_pids(self) -> list[int]:
        """anvil processes serving this node's L1 port."""
        return find_processes("anvil", "--port", str(self.l1_port))

    def worker_pids(self) -> list[int]:
        """RPC worker processes (``rpc_workers``) serving this node's data directory."""
        return find_processes("zkos_tw.rpc.worker", os.path.join(self.workdir, "db"))

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def cleanup(self) -> None:
        """Kill whatever is left (node and its anvil), so a failed test leaks nothing."""
        for pid in self.anvil_pids() + self.worker_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()
