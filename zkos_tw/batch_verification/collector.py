"""``SignatureCollector``: the main node's side of batch verification (reference §8.2).

External nodes that sign (``batch_verification_client_enabled``) connect to
``batch_verification_address`` (default port 3072, any endpoint string, ``nacl:`` included).
For each batch to commit the pipeline calls ``collect``: a ``Request`` with a fresh request id
goes to every connected signer; answers are accepted only for the current request id, with a
valid 65-byte low-s signature over the EIP-712 digest, by a signer of the policy, once per
signer. The round ends at ``threshold`` signatures or after ``request_timeout``; then, after
``retry_delay``, a new round asks again (signatures already collected for the batch are kept:
they are over the same digest). There is no giving up: the commit waits, ``/status/health``
shows why in its ``batch_verification`` section, and after ``total_timeout`` it is also a
problem. The result is the signers sorted ascending with their signatures, as L1 wants them.

A connection that breaks the protocol (see ``protocol``) is logged, counted and closed; the
server keeps serving the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.logger import Logger

from zkos_tw.batch_verification.digest import BadSignature, SigningDomain, commit_digest, recover
from zkos_tw.batch_verification.metrics import CollectorMetrics
from zkos_tw.batch_verification.policy import SigningPolicy
from zkos_tw.batch_verification.protocol import (
    FrameParser,
    ProtocolError,
    Refused,
    Request,
    ServerHandshake,
    Signed,
    encode_frame,
    encode_version,
)

log = Logger()


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


class SignerConnection(Protocol):
    """One connected signer: handshake, then answers in frames."""

    def __init__(self, collector: SignatureCollector):
        self.collector = collector
        self._handshake: ServerHandshake | None = ServerHandshake()
        self._frames = FrameParser()
        self.ready = False

    def connectionMade(self) -> None:
        self.peer = str(self.transport.getPeer())

    def dataReceived(self, data: bytes) -> None:
        try:
            if self._handshake is not None:
                rest = self._handshake.feed(data)
                if rest is None:
                    return
                self._handshake = None
                self.transport.write(encode_version())
                self.ready = True
                self.collector.connected(self)
                data = rest
            for message in self._frames.feed(data):
                if isinstance(message, Request):
                    raise ProtocolError("a signer sent a request")
                self.collector.answer(self, message)
        except ProtocolError as e:
            self.collector.metrics.protocol_errors.inc()
            log.warn("batch verification: closing {peer}: {error}", peer=self.peer, error=str(e))
            self.transport.loseConnection()
            self._handshake = ServerHandshake()  # ignore what else arrives before the close

    def send(self, request: Request) -> None:
        self.transport.write(encode_frame(request))

    def connectionLost(self, reason=None) -> None:
        self.collector.disconnected(self)


@dataclass
class _Round:
    """The request in flight for one batch."""

    request: Request
    digest: bytes
    signatures: dict[bytes, bytes]
    done: defer.Deferred
    refusals: list[str] = field(default_factory=list)


class SignatureCollector(MultiService):
    """The server on ``endpoint`` and ``collect``; see the module docstring."""

    name = "batch_verification"

    def __init__(
        self,
        *,
        endpoint,
        policy: SigningPolicy,
        domain: SigningDomain,
        clock,
        request_timeout: float,
        retry_delay: float,
        total_timeout: float,
        metrics: CollectorMetrics | None = None,
    ):
        super().__init__()
        self.policy = policy
        self.domain = domain
        self._clock = clock
        self.request_timeout = request_timeout
        self.retry_delay = retry_delay
        self.total_timeout = total_timeout
        self.metrics = metrics or CollectorMetrics()
        self.signers: set[SignerConnection] = set()
        self._next_id = 1
        self._round: _Round | None = None
        #: What the batch waiting for signatures is waiting for (health), or None.
        self.waiting: dict | None = None
        self.last_refusal: str | None = None
        #: Seconds the last ``collect`` took (from its first request to the threshold).
        self.last_signing_seconds: float | None = None
        #: The signers' protocol factory (listened on ``endpoint``; tests wrap it).
        self.factory = Factory.forProtocol(lambda: SignerConnection(self))
        if endpoint is not None:
            StreamServerEndpointService(endpoint, self.factory).setServiceParent(self)

    # -- connections ---------------------------------------------------------------------------

    def connected(self, signer: SignerConnection) -> None:
        self.signers.add(signer)
        self.metrics.signers.set(len(self.signers))
        log.info("batch verification: signer connected from {peer}", peer=signer.peer)
        if self._round is not None:
            signer.send(self._round.request)

    def disconnected(self, signer: SignerConnection) -> None:
        if signer in self.signers:
            self.signers.discard(signer)
            self.metrics.signers.set(len(self.signers))
            log.info("batch verification: signer at {peer} disconnected", peer=signer.peer)

    # -- answers -------------------------------------------------------------------------------

    def answer(self, signer: SignerConnection, message) -> None:
        current = self._round
        if current is None or message.request_id != current.request.request_id:
            self.metrics.dropped.labels(reason="stale").inc()
            return
        if isinstance(message, Refused):
            self.metrics.refusals.inc()
            line = f"batch {message.batch_number} refused by {signer.peer}: {message.reason}"
            current.refusals.append(line)
            self.last_refusal = line
            log.warn("batch verification: {line}", line=line)
            return
        assert isinstance(message, Signed)
        try:
            address = recover(current.digest, message.signature)
        except BadSignature as e:
            self.metrics.dropped.labels(reason="invalid").inc()
            log.warn(
                "batch verification: invalid signature from {peer}: {error}",
                peer=signer.peer,
                error=str(e),
            )
            return
        if address not in self.policy.signers:
            self.metrics.dropped.labels(reason="not_a_signer").inc()
            log.warn(
                "batch verification: dropping the signature of {address} from {peer}: not in "
                "the {source} signer set",
                address=_hex(address),
                peer=signer.peer,
                source=self.policy.source,
            )
            return
        if address in current.signatures:
            self.metrics.dropped.labels(reason="duplicate").inc()
            return
        current.signatures[address] = message.signature
        if len(current.signatures) >= self.policy.threshold and not current.done.called:
            current.done.callback(None)

    # -- collecting ----------------------------------------------------------------------------

    async def collect(
        self, batch_number: int, first_block: int, last_block: int, chain_address: bytes,
        batch_data: bytes,
    ) -> tuple[list[bytes], list[bytes]]:  # fmt: skip
        """``(signers ascending, their signatures)`` for committing ``batch_number`` with
        ``batch_data``; waits (retrying) until ``threshold`` valid ones are in."""
        digest = commit_digest(self.domain, chain_address, batch_number, batch_number, batch_data)
        signatures: dict[bytes, bytes] = {}
        started = self._clock.seconds()
        self.waiting = {"batch": batch_number, "since": started, "rounds": 0}
        try:
            while len(signatures) < self.policy.threshold:
                request = Request(
                    self._next_id, batch_number, batch_number, batch_number, first_block,
                    last_block, bytes(chain_address), batch_data,
                )  # fmt: skip
                self._next_id += 1
                self._round = _Round(request, digest, signatures, defer.Deferred())
                self.waiting["rounds"] += 1
                for signer in list(self.signers):
                    signer.send(request)
                    self.metrics.requests.inc()
                timer = self._clock.callLater(self.request_timeout, self._round_over)
                await self._round.done
                if timer.active():
                    timer.cancel()
                if len(signatures) >= self.policy.threshold:
                    break
                self.metrics.timeouts.inc()
                log.warn(
                    "batch verification: batch {batch}: {have} of {need} signatures after "
                    "{timeout:g} s ({connected} signers connected); asking again",
                    batch=batch_number,
                    have=len(signatures),
                    need=self.policy.threshold,
                    timeout=self.request_timeout,
                    connected=len(self.signers),
                )
                self._round = None
                await deferLater(self._clock, self.retry_delay, lambda: None)
        finally:
            self._round = None
            self.waiting = None
        self.last_signing_seconds = self._clock.seconds() - started
        self.metrics.signing_seconds.observe(self.last_signing_seconds)
        ordered = sorted(signatures)[: max(self.policy.threshold, 1)]
        return ordered, [signatures[a] for a in ordered]

    def _round_over(self) -> None:
        if self._round is not None and not self._round.done.called:
            self._round.done.callback(None)

    # -- health --------------------------------------------------------------------------------

    def _have(self) -> int:
        return len(self._round.signatures) if self._round is not None else 0

    def report(self) -> dict:
        """The ``batch_verification`` section of ``/status/health``."""
        report = {**self.policy.as_json(), "connected_signers": len(self.signers)}
        if self.waiting is None:
            report["waiting"] = None
        else:
            report["waiting"] = {
                "batch": self.waiting["batch"],
                "seconds": round(self._clock.seconds() - self.waiting["since"], 3),
                "signatures": self._have(),
                "rounds": self.waiting["rounds"],
                "reason": self._reason(),
            }
        report["last_refusal"] = self.last_refusal
        return report

    def _reason(self) -> str:
        connected = len(self.signers)
        text = (
            f"commit of batch {self.waiting['batch']} waiting for signatures: "
            f"{self._have()} of {self.policy.threshold}, {connected} signers connected"
        )
        if self._round is not None and self._round.refusals:
            text += f"; {self._round.refusals[-1]}"
        return text

    def problems(self) -> list[str]:
        """One entry while a commit has waited longer than ``total_timeout``."""
        if self.waiting is None:
            return []
        waited = self._clock.seconds() - self.waiting["since"]
        if waited < self.total_timeout:
            return []
        return [f"batch verification: {self._reason()} (for {waited:.0f} s)"]


def create_signature_collector(
    config, reactor, *, policy: SigningPolicy, domain: SigningDomain, registry=None,
    _endpoint=None,
) -> SignatureCollector:  # fmt: skip
    """The collector of ``config`` (a ``BatchVerificationConfig``) listening on its address."""
    endpoint = _endpoint or serverFromString(reactor, config.listen_endpoint)
    return SignatureCollector(
        endpoint=endpoint,
        policy=policy,
        domain=domain,
        clock=reactor,
        request_timeout=config.request_timeout,
        retry_delay=config.retry_delay,
        total_timeout=config.total_timeout,
        metrics=CollectorMetrics(registry) if registry is not None else None,
    )
