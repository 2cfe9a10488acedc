"""``SignatureCollector`` over ``StringTransport`` connections and a ``Clock``."""

from __future__ import annotations

import struct

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.batch_verification import protocol as p
from zkos_tw.batch_verification.collector import SignatureCollector, SignerConnection
from zkos_tw.batch_verification.digest import (
    SigningDomain,
    address_of_key,
    commit_digest,
    sign_digest,
)
from zkos_tw.batch_verification.policy import SigningPolicy

KEYS = [bytes([i]) * 32 for i in (0x11, 0x22, 0x33, 0x44)]
ADDRESSES = [address_of_key(k) for k in KEYS]
DOMAIN = SigningDomain(31337, b"\x77" * 20)
CHAIN = b"\x55" * 20
DATA = b"\x02" + b"\xab" * 100


class FakeSigner:
    """A connected signer: what the collector wrote to it, and a way to answer."""

    def __init__(self, collector, key=None):
        self.key = key
        self.transport = StringTransport()
        self.protocol = SignerConnection(collector)
        self.protocol.makeConnection(self.transport)
        self.protocol.dataReceived(p.encode_hello())
        self._handshake = p.ClientHandshake()
        self._frames = p.FrameParser()
        self._read = 0

    def requests(self) -> list[p.Request]:
        data = self.transport.value()[self._read :]
        self._read += len(data)
        if self._handshake.version is None:
            data = self._handshake.feed(data)
        return self._frames.feed(data)

    def sign(self, request, key=None, digest=None):
        digest = digest or commit_digest(
            DOMAIN, request.chain_address, request.process_from, request.process_to,
            request.batch_data,
        )  # fmt: skip
        signature = sign_digest(digest, key or self.key)
        self.send(p.Signed(request.request_id, request.batch_number, signature))

    def send(self, message):
        self.protocol.dataReceived(p.encode_frame(message))


class CollectorTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.collector = SignatureCollector(
            endpoint=None,
            policy=SigningPolicy(2, frozenset(ADDRESSES[:3]), True),
            domain=DOMAIN,
            clock=self.clock,
            request_timeout=5,
            retry_delay=1,
            total_timeout=30,
        )

    def collect(self, batch=4):
        return defer.ensureDeferred(self.collector.collect(batch, 10, 12, CHAIN, DATA))

    def test_threshold_sorted(self):
        """Two signers answer: the result is both, ascending by address, as L1 wants."""
        signers = [FakeSigner(self.collector, k) for k in (KEYS[2], KEYS[0])]
        d = self.collect()
        for signer in signers:
            (request,) = signer.requests()
            self.assertEqual(
                (request.batch_number, request.first_block, request.last_block), (4, 10, 12)
            )
            signer.sign(request)
        addresses, signatures = self.successResultOf(d)
        self.assertEqual(addresses, sorted([ADDRESSES[0], ADDRESSES[2]]))
        self.assertEqual(len(signatures), 2)
        self.assertEqual(self.collector.metrics.signing_seconds._sum.get(), 0)
        self.assertIsNone(self.collector.waiting)

    def test_outsider_invalid_duplicate_and_stale_are_dropped(self):
        """Out-of-set, malformed, repeated and stale-id signatures do not count."""
        a, b = FakeSigner(self.collector, KEYS[0]), FakeSigner(self.collector, KEYS[1])
        d = self.collect()
        (request,) = a.requests()
        b.requests()
        a.sign(request, key=KEYS[3])  # outsider
        a.sign(request, digest=b"\x01" * 32)  # over other data: recovers to someone else
        a.send(p.Signed(request.request_id, 4, b"\x00" * 65))  # invalid
        a.sign(request)
        a.sign(request)  # duplicate
        stale = p.Request(request.request_id + 100, *list(vars(request).values())[1:])
        b.sign(stale)
        self.assertNoResult(d)
        dropped = self.collector.metrics.dropped
        self.assertEqual(dropped.labels(reason="not_a_signer")._value.get(), 2)
        self.assertEqual(dropped.labels(reason="invalid")._value.get(), 1)
        self.assertEqual(dropped.labels(reason="duplicate")._value.get(), 1)
        self.assertEqual(dropped.labels(reason="stale")._value.get(), 1)
        b.sign(request)
        addresses, _ = self.successResultOf(d)
        self.assertEqual(addresses, sorted(ADDRESSES[:2]))

    def test_timeout_retries_and_health(self):
        """Without enough answers the round times out, health says why, and a new round asks
        again after retry_delay; after total_timeout it is a problem."""
        a = FakeSigner(self.collector, KEYS[0])
        d = self.collect()
        (first,) = a.requests()
        a.sign(first)
        a.send(p.Refused(first.request_id, 4, "new_state_commitment differs"))
        report = self.collector.report()
        self.assertEqual(report["waiting"]["signatures"], 1)
        self.assertIn(
            "commit of batch 4 waiting for signatures: 1 of 2, 1 signers connected",
            report["waiting"]["reason"],
        )
        self.assertIn("new_state_commitment differs", report["waiting"]["reason"])
        self.clock.advance(5)
        self.assertEqual(self.collector.metrics.timeouts._value.get(), 1)
        self.assertEqual(a.requests(), [])
        self.clock.advance(1)
        (second,) = a.requests()
        self.assertEqual(second.request_id, first.request_id + 1)
        self.assertEqual(self.collector.problems(), [])
        self.clock.advance(30)
        (problem,) = self.collector.problems()
        self.assertIn("batch verification: commit of batch 4 waiting for signatures", problem)
        self.clock.advance(1)  # the retry_delay after the round the jump ended
        late = FakeSigner(self.collector, KEYS[1])
        (current,) = late.requests()  # a signer connecting mid-round is asked at once
        late.sign(current)
        addresses, _ = self.successResultOf(d)
        self.assertEqual(addresses, sorted(ADDRESSES[:2]))
        self.assertEqual(self.collector.problems(), [])
        self.assertEqual(self.collector.metrics.refusals._value.get(), 1)

    def test_hostile_signer_closed_others_served(self):
        """A signer that sends garbage is closed; another one still completes the batch."""
        self.collector.policy = SigningPolicy(1, frozenset(ADDRESSES[:3]), True)
        bad, good = FakeSigner(self.collector), FakeSigner(self.collector, KEYS[0])
        d = self.collect()
        bad.protocol.dataReceived(struct.pack(">I", p.MAX_FRAME_LENGTH + 1))
        self.assertTrue(bad.transport.disconnecting)
        bad.protocol.connectionLost(None)
        self.assertEqual(self.collector.metrics.protocol_errors._value.get(), 1)
        self.assertEqual(len(self.collector.signers), 1)
        (request,) = good.requests()
        good.sign(request)
        self.assertEqual(self.successResultOf(d)[0], [ADDRESSES[0]])

    def test_bad_version_closed(self):
        """A signer speaking version 2 is closed before it counts as connected."""
        transport = StringTransport()
        protocol = SignerConnection(self.collector)
        protocol.makeConnection(transport)
        protocol.dataReceived(p.encode_hello(2))
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.collector.signers, set())

    def test_signer_sending_request_closed(self):
        """Requests go main node -> signer only."""
        signer = FakeSigner(self.collector, KEYS[0])
        signer.send(p.Request(1, 1, 1, 1, 1, 1, CHAIN, b""))
        self.assertTrue(signer.transport.disconnecting)
