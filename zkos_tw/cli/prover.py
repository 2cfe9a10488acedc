"""``zkosctl prover``: a prover worker process (issue #12; see docs/proving.md).

Picks FRI jobs from a node's prover API, re-executes each batch from its prover input alone
(``prove_batch``), signs the public input and submits the attestation; ``--snark`` picks SNARK
jobs and submits signed aggregates of their FRI attestations instead. Logs one line per job
with its timings to stderr. Runs until interrupted (or ``--jobs`` jobs were done).
"""

from __future__ import annotations

import os
import sys

import coincurve
from twisted.internet.defer import ensureDeferred
from twisted.logger import globalLogBeginner, textFileLogObserver
from twisted.python import usage

from zkos_tw.prover_worker.metrics import WorkerMetrics
from zkos_tw.prover_worker.worker import ProverWorker


def read_key(path: str) -> bytes:
    """The 32-byte secp256k1 key in ``path`` (``0x``-hex text); ``UsageError`` if not one."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError as e:
        raise usage.UsageError(f"--key {path}: {e.strerror}") from None
    try:
        key = bytes.fromhex(text.removeprefix("0x"))
        if len(key) != 32:
            raise ValueError(len(key))
        coincurve.PrivateKey(key)
    except (ValueError, TypeError):
        raise usage.UsageError(f"--key {path}: expected a 32-byte hex private key") from None
    return key


class Options(usage.Options):
    synopsis = "--api URL [--id NAME] [--snark] [--key FILE]"
    longdesc = (
        "Prove batches for a node's prover API (http://HOST:3124): pick FRI jobs, re-execute "
        "each batch from its prover input alone, sign and submit the attestation; with --snark "
        "aggregate FRI attestations into SNARK proofs. The node accepts the attestations of the "
        "addresses in prover_api_trusted_signers, and L1's TestnetVerifier the SNARK "
        "aggregates of the signers its admin registered (setSnarkSigner); the worker prints "
        "its address at start. "
        "Without --key it signs with a new random key."
    )
    optFlags = [["snark", None, "Pick SNARK jobs (aggregate FRI proofs) instead of FRI jobs"]]
    optParameters = [
        ["api", None, None, "The prover API's URL, e.g. http://127.0.0.1:3124"],
        ["id", None, None, "Prover id sent with submits (default: prover-<pid>)"],
        ["key", None, None, "File holding the worker's secp256k1 private key (0x-hex)"],
        ["poll-interval", None, "0.25", "Seconds between picks while there is nothing to do"],
        ["jobs", None, None, "Exit after this many jobs (default: run until interrupted)"],
        ["min-job-time", None, "0", "Spend at least this many seconds on each job"],
        ["metrics-port", None, None, "Serve prover_worker_* metrics on 127.0.0.1:PORT/metrics"],
    ]

    def postOptions(self) -> None:
        if not self["api"] or not self["api"].startswith(("http://", "https://")):
            raise usage.UsageError("--api must be the prover API's http:// URL")
        self["id"] = self["id"] or f"prover-{os.getpid()}"
        self["key"] = read_key(self["key"]) if self["key"] else coincurve.PrivateKey().secret
        for name, minimum in (("poll-interval", 0.001), ("min-job-time", 0.0)):
            try:
                self[name] = float(self[name])
            except ValueError:
                raise usage.UsageError(f"--{name} must be a number") from None
            if self[name] < minimum:
                raise usage.UsageError(f"--{name} must be at least {minimum}")
        if self["metrics-port"] is not None:
            if not self["metrics-port"].isdigit() or not 0 < int(self["metrics-port"]) < 65536:
                raise usage.UsageError("--metrics-port must be a TCP port")
            self["metrics-port"] = int(self["metrics-port"])
        if self["jobs"] is not None:
            if not self["jobs"].isdigit() or int(self["jobs"]) < 1:
                raise usage.UsageError("--jobs must be a positive integer")
            self["jobs"] = int(self["jobs"])


def create_worker(options: Options, reactor, metrics: WorkerMetrics | None = None) -> ProverWorker:
    """The worker the options describe, with a treq client on ``reactor``."""
    from treq.client import HTTPClient
    from twisted.web import client

    class QuietFactory(client._HTTP11ClientFactory):
        noisy = False  # no "Starting factory" line per connection

    pool = client.HTTPConnectionPool(reactor, persistent=True)
    pool._factory = QuietFactory
    http = HTTPClient(client.Agent(reactor, pool=pool))
    return ProverWorker(
        options["api"],
        http=http,
        clock=reactor,
        private_key=options["key"],
        prover_id=options["id"],
        snark_mode=options["snark"],
        poll_interval=options["poll-interval"],
        min_job_time=options["min-job-time"],
        metrics=metrics,
    )


def run(options: Options) -> int:
    from twisted.internet import reactor

    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)], redirectStandardIO=False)
    metrics = None
    if options["metrics-port"] is not None:
        from twisted.web.server import Site

        from zkos_tw.metrics import MetricsPage, create_registry

        registry = create_registry()
        metrics = WorkerMetrics(registry)
        site = Site(MetricsPage(registry))
        site.noisy = False
        reactor.listenTCP(options["metrics-port"], site, interface="127.0.0.1")
    worker = create_worker(options, reactor, metrics)
    outcome = {"code": 0}

    async def main():
        try:
            await worker.run(options["jobs"])
        except Exception:  # noqa: BLE001 - a bug: show it, exit non-zero
            worker.log.failure("prover worker stopped")
            outcome["code"] = 1
        finally:
            if reactor.running:
                reactor.stop()

    reactor.callWhenRunning(lambda: ensureDeferred(main()))
    reactor.run()
    return outcome["code"]
