"""``AnvilService``: runs anvil (from the project's npm tool folder) as the L1 of a dev node.

Start: spawn anvil through ``zkos_tw.devnet.child`` (so it dies with us even on SIGKILL), then
``ready()`` polls ``eth_chainId`` until anvil answers. Stop: SIGTERM, then SIGKILL after a grace
period; ``stopService`` fires once the process is gone, so twistd never exits leaving it behind.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
from collections import deque

from twisted.application.service import Service
from twisted.internet import defer, error, protocol
from twisted.logger import Logger

log = Logger()


class AnvilError(Exception):
    """anvil could not be found, did not start, or did not answer in time."""


def find_anvil(configured: str | None, environ=os.environ) -> str:
    """The anvil binary: the configured path, ``$ZKOS_TOOLS_DIR``, ``./.tools``, then ``PATH``."""
    if configured:
        if not os.access(configured, os.X_OK):
            raise AnvilError(f"dev_anvil_path={configured!r} is not an executable file")
        return os.path.abspath(configured)
    tool_dirs = [environ["ZKOS_TOOLS_DIR"]] if environ.get("ZKOS_TOOLS_DIR") else []
    tool_dirs.append(os.path.join(os.getcwd(), ".tools"))
    candidates = []
    for tools in tool_dirs:
        modules = os.path.join(tools, "node_modules")
        # The platform package's binary itself, not the node wrapper in .bin: signals sent to
        # the wrapper do not reliably reach the real anvil.
        candidates += sorted(
            glob.glob(os.path.join(modules, "@foundry-rs", "anvil-*", "bin", "anvil"))
        )
        candidates.append(os.path.join(modules, ".bin", "anvil"))
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    found = shutil.which("anvil")
    if found:
        return found
    raise AnvilError(
        "anvil not found: run `make tools` (installs @foundry-rs/anvil into .tools/), "
        "or set ZKOS_TOOLS_DIR or dev_anvil_path"
    )


class _AnvilProtocol(protocol.ProcessProtocol):
    def __init__(self):
        self.ended = defer.Deferred()
        self.exit_code: int | None = None
        self.tail: deque[str] = deque(maxlen=20)

    def outReceived(self, data: bytes) -> None:
        # Kept for the error message if anvil fails; its banner is not worth logging.
        for line in data.decode(errors="replace").splitlines():
            if line.strip():
                self.tail.append(line)

    errReceived = outReceived

    def processEnded(self, reason) -> None:
        self.exit_code = getattr(reason.value, "exitCode", None)
        self.ended.callback(self.exit_code)


class AnvilService(Service):
    """anvil as a child process on ``host:port``, optionally loading an L1 state file."""

    name = "anvil"

    def __init__(
        self,
        reactor,
        anvil_path: str,
        host: str,
        port: int,
        state_path: str | None,
        http_client,
        *,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
        extra_args: tuple[str, ...] = (),
    ):
        self._reactor = reactor
        self._anvil_path = anvil_path
        self._host = host
        self._port = port
        self._state_path = state_path
        self._http = http_client
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._extra_args = extra_args
        self._protocol: _AnvilProtocol | None = None
        self._transport = None

    @property
    def url(self) -> str:
        """The JSON-RPC URL anvil serves."""
        return f"http://{self._host}:{self._port}"

    def command(self) -> list[str]:
        """The argv that starts anvil (through the die-with-parent wrapper)."""
        argv = [self._anvil_path, "--host", self._host, "--port", str(self._port)]
        if self._state_path:
            argv += ["--load-state", self._state_path]
        argv += list(self._extra_args)
        return [sys.executable, "-m", "zkos_tw.devnet.child", *argv]

    def startService(self) -> None:
        super().startService()
        self._protocol = _AnvilProtocol()
        env = dict(os.environ, ZKOS_CHILD_PARENT_PID=str(os.getpid()))
        argv = self.command()
        log.info("starting anvil: {argv}", argv=" ".join(argv[3:]))
        self._transport = self._reactor.spawnProcess(
            self._protocol, argv[0], argv, env=env, childFDs={0: "w", 1: "r", 2: "r"}
        )

    async def ready(self) -> None:
        """Wait until anvil answers ``eth_chainId``; raise ``AnvilError`` if it exits or is slow."""
        proto = self._protocol
        if proto is None:
            raise AnvilError("anvil was not started")
        deadline = self._reactor.seconds() + self._startup_timeout
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        while True:
            if proto.ended.called:
                errors = [line for line in proto.tail if "error" in line.lower()]
                last = (errors or list(proto.tail) or ["no output"])[-1].strip()
                raise AnvilError(f"anvil exited with code {proto.exit_code} during start: {last}")
            try:
                response = await self._http.post(
                    self.url,
                    data=body.encode(),
                    headers={b"content-type": [b"application/json"]},
                    timeout=2,
                )
                answer = json.loads(await response.content())
                if "result" in answer:
                    log.info(
                        "anvil answers on {url} (chain id {id})",
                        url=self.url,
                        id=int(answer["result"], 16),
                    )
                    return
            except (
                error.ConnectError,
                error.TimeoutError,
                defer.CancelledError,
                ValueError,
                OSError,
                KeyError,
            ):
                pass
            except Exception as e:  # noqa: BLE001 - treq wraps some failures in its own types
                log.debug("anvil not ready yet: {e}", e=e)
            if self._reactor.seconds() > deadline:
                raise AnvilError(
                    f"anvil did not answer on {self.url} within {self._startup_timeout:.0f}s"
                )
            await _sleep(self._reactor, 0.1)

    def stopService(self):
        super().stopService()
        proto, transport = self._protocol, self._transport
        if proto is None or proto.ended.called:
            return defer.succeed(None)
        try:
            transport.signalProcess("TERM")
        except error.ProcessExitedAlready:
            return proto.ended
        kill = self._reactor.callLater(self._stop_timeout, self._kill, transport)
        ended = proto.ended

        def _stopped(result):
            if kill.active():
                kill.cancel()
            log.info("anvil stopped")
            return None

        # A fresh Deferred, so that the process protocol's own stays unconsumed for others.
        done = defer.Deferred()
        ended.addBoth(lambda result: (done.callback(None), result)[1])
        done.addCallback(_stopped)
        return done

    @staticmethod
    def _kill(transport) -> None:
        try:
            transport.signalProcess("KILL")
        except error.ProcessExitedAlready:
            pass


def _sleep(reactor, seconds: float):
    d = defer.Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d
