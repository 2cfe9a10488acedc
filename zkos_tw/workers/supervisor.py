"""``RpcWorkers``: the node's RPC worker processes, started, relayed and restarted.

On start the service binds ``rpc_address`` itself (a TCP or TCP6 endpoint; the node process
never accepts on it) and spawns ``count`` workers with ``reactor.spawnProcess``
(``python -m zkos_tw.rpc.worker``), each inheriting the listening socket as fd 3 and its end
of a fresh socketpair to the ``SequencerGateway`` as fd 4. A worker's stdout and stderr lines
go into the node's log, prefixed with its name. A worker that exits while the service runs is
started again after ``restart_delay`` seconds (doubling up to 5 s while it keeps dying within
10 s of its start). On stop every worker gets SIGTERM, and SIGKILL after ``stop_timeout``.
"""

from __future__ import annotations

import json
import os
import socket
import sys

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger

import zkos_tw
from zkos_tw.launcher import StartupError
from zkos_tw.rpc.worker import LINK_FD, LISTEN_FD

log = Logger()

MAX_RESTART_DELAY = 5.0
#: A worker that ran longer than this before dying is restarted after the initial delay.
STABLE_SECONDS = 10.0


def parse_tcp_endpoint(description: str) -> tuple[int, str, int]:
    """``(family, host, port)`` of a ``tcp:`` / ``tcp6:`` server endpoint description."""
    parts = []
    current = ""
    escaped = False
    for char in description:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    kind = parts[0]
    if kind not in ("tcp", "tcp6"):
        raise ValueError(f"rpc_workers needs a tcp rpc_address, not {description!r}")
    family = socket.AF_INET6 if kind == "tcp6" else socket.AF_INET
    host = "::" if kind == "tcp6" else "0.0.0.0"
    port = None
    for part in parts[1:]:
        if part.startswith("port="):
            port = int(part[len("port=") :])
        elif part.startswith("interface="):
            host = part[len("interface=") :]
        elif part.isdigit() and port is None:
            port = int(part)
    if port is None:
        raise ValueError(f"no port in rpc_address {description!r}")
    return family, host, port


def listening_socket(description: str, backlog: int = 1024) -> socket.socket:
    """A bound, listening, non-blocking socket for ``description`` (see ``parse_tcp_endpoint``)."""
    family, host, port = parse_tcp_endpoint(description)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class WorkerProcess(ProcessProtocol):
    """One worker's process: relays its output and tells the supervisor when it ended."""

    def __init__(self, supervisor: RpcWorkers, index: int):
        self.supervisor = supervisor
        self.index = index
        self.name = f"rpc-worker-{index}"
        self.ended = defer.Deferred()
        self._partial = {1: b"", 2: b""}

    def childDataReceived(self, fd, data):
        lines = (self._partial.get(fd, b"") + data).split(b"\n")
        self._partial[fd] = lines.pop()
        for line in lines:
            if line.strip():
                log.info("{name}: {line}", name=self.name, line=line.decode(errors="replace"))

    def processEnded(self, reason):
        self.ended.callback(None)
        self.supervisor.worker_ended(self, reason)


class RpcWorkers(Service):
    """See the module docstring. ``settings`` is the JSON the workers get (``run``'s);
    ``gateway`` a ``SequencerGateway``."""

    name = "rpc-workers"

    def __init__(
        self,
        reactor,
        count: int,
        address: str,
        settings: dict,
        gateway,
        *,
        python: str = sys.executable,
        restart_delay: float = 0.5,
        stop_timeout: float = 10.0,
    ):
        self._reactor = reactor
        self.count = count
        self.address = address
        self._settings = settings
        self._gateway = gateway
        self._python = python
        self._restart_delay = restart_delay
        self._stop_timeout = stop_timeout
        self._socket: socket.socket | None = None
        self.processes: dict[int, WorkerProcess] = {}
        self.restarts = 0
        self._delays: dict[int, float] = {}
        self._started_at: dict[int, float] = {}
        self._pending_restarts: dict[int, object] = {}

    def startService(self):
        try:
            self._socket = listening_socket(self.address)
        except OSError as e:
            raise StartupError(f"rpc_address {self.address}: {e.strerror or e}") from None
        super().startService()
        for index in range(self.count):
            self._spawn(index)

    def pids(self) -> list[int]:
        """The pids of the running workers."""
        return [p.transport.pid for p in self.processes.values() if p.transport.pid]

    def _spawn(self, index: int) -> None:
        self._pending_restarts.pop(index, None)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        settings = {
            **self._settings,
            "index": index,
            "family": int(self._socket.family),
        }
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(zkos_tw.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        process = WorkerProcess(self, index)
        try:
            self._reactor.spawnProcess(
                process,
                self._python,
                [self._python, "-m", "zkos_tw.rpc.worker", json.dumps(settings)],
                env=env,
                childFDs={
                    0: "w",
                    1: "r",
                    2: "r",
                    LISTEN_FD: self._socket.fileno(),
                    LINK_FD: theirs.fileno(),
                },
            )
        finally:
            theirs.close()
        self._reactor.adoptStreamConnection(
            ours.fileno(), socket.AF_UNIX, self._gateway.factory(process.name, index)
        )
        ours.close()
        self.processes[index] = process
        self._started_at[index] = self._reactor.seconds()
        log.info("{name} started (pid {pid})", name=process.name, pid=process.transport.pid)

    def worker_ended(self, process: WorkerProcess, reason) -> None:
        if self.processes.get(process.index) is process:
            del self.processes[process.index]
        if not self.running:
            return
        index = process.index
        lived = self._reactor.seconds() - self._started_at.get(index, 0.0)
        delay = self._delays.get(index, self._restart_delay)
        delay = self._restart_delay if lived > STABLE_SECONDS else min(delay * 2, MAX_RESTART_DELAY)
        self._delays[index] = delay
        log.warn(
            "{name} exited ({reason}); restarting it in {delay:g} s",
            name=process.name,
            reason=reason.getErrorMessage(),
            delay=delay,
        )
        self.restarts += 1
        self._pending_restarts[index] = self._reactor.callLater(delay, self._spawn, index)

    def stopService(self):
        super().stopService()
        for call in self._pending_restarts.values():
            if call.active():
                call.cancel()
        self._pending_restarts = {}
        processes = list(self.processes.values())
        for process in processes:
            _signal(process, "TERM")
        kill = self._reactor.callLater(
            self._stop_timeout, lambda: [_signal(p, "KILL") for p in processes]
        )

        def closed(_):
            if kill.active():
                kill.cancel()
            if self._socket is not None:
                self._socket.close()
                self._socket = None

        return defer.gatherResults([p.ended for p in processes]).addBoth(closed)


def _signal(process: WorkerProcess, name: str) -> None:
    try:
        process.transport.signalProcess(name)
    except Exception:  # noqa: BLE001 - it already exited
        pass
