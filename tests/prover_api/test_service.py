"""``create_prover_api``: it listens on 3124 when enabled, and its fake provers share the job
queue that the HTTP routes serve."""

from dataclasses import replace

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.prover_api.helpers import sealed
from zkos_tw.config import ProverApiConfig
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.prover_api.service import create_prover_api
from zkos_tw.testing.memory_proof_storage import MemoryProofStorage


class CreateProverApiTests(SynchronousTestCase):
    def make(self, **kw):
        self.reactor = MemoryReactorClock()
        self.sealed, self.proved = BoundedQueue(1), BoundedQueue(10)
        service = create_prover_api(
            replace(ProverApiConfig(), **kw),
            reactor=self.reactor,
            fri_input=self.sealed,
            fri_output=self.proved,
            snark_input=BoundedQueue(10),
            snark_output=BoundedQueue(10),
            proof_storage=MemoryProofStorage(),
        )
        service.startService()
        self.addCleanup(service.stopService)
        return service

    def test_listens_on_3124(self):
        self.make()
        ((port, _factory, _backlog, interface),) = self.reactor.tcpServers
        self.assertEqual((port, interface), (3124, "0.0.0.0"))

    def test_component_disabled(self):
        service = self.make(component_enabled=False)
        self.assertEqual(self.reactor.tcpServers, [])
        self.assertEqual(service.api.fri_jobs, service.fri_jobs)

    def test_fakes_use_the_shared_jobs(self):
        """A fake prover's job shows in the API's status, then its fake proof goes downstream."""
        service = self.make(fake_fri_provers_workers=1)
        self.sealed.put(sealed(1, at=0.0))
        self.reactor.advance(3.0)
        self.assertEqual(service.fri_jobs.status(), [(1, 0)])
        self.reactor.advance(2.0)
        self.assertEqual(service.fri_jobs.status(), [])
        self.assertTrue(self.successResultOf(self.proved.get()).fri_proof.fake)

    def test_fakes_off(self):
        service = self.make(fake_fri_provers_enabled=False, fake_snark_provers_enabled=False)
        self.sealed.put(sealed(1, at=0.0))
        self.reactor.advance(10)
        self.assertEqual(len(self.proved), 0)
        self.assertEqual(service.fri_jobs.pick().number, 1)


class BodyLimitTests(SynchronousTestCase):
    """``ProverApiSite`` answers 413 from the headers alone and closes the connection."""

    def connect(self):
        from twisted.internet.testing import StringTransport

        service = create_prover_api(
            ProverApiConfig(),
            reactor=MemoryReactorClock(),
            fri_input=BoundedQueue(1),
            fri_output=BoundedQueue(1),
            snark_input=BoundedQueue(1),
            snark_output=BoundedQueue(1),
            proof_storage=MemoryProofStorage(),
        )
        site = service.getServiceNamed("prover-api-http").factory
        protocol = site.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    def test_announced_length_over_limit(self):
        protocol, transport = self.connect()
        protocol.dataReceived(
            b"POST /prover-jobs/FRI/submit HTTP/1.1\r\nHost: p\r\n"
            b"Content-Length: 10485761\r\n\r\n" + b"x" * 1000
        )
        answer = transport.value()
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        self.assertTrue(answer.endswith(b"length limit exceeded"))
        self.assertTrue(transport.disconnecting)

    def test_small_body_served(self):
        protocol, transport = self.connect()
        protocol.dataReceived(b"GET /prover-jobs/status HTTP/1.1\r\nHost: p\r\n\r\n")
        self.assertIn(b"200 OK", transport.value())
        self.assertIn(b"\r\n[]\r\n", transport.value())
