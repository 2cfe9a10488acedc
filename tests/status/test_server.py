"""Tests for the health endpoint (``zkos_tw.status``), through StubTreq: no sockets."""

import json

from treq.testing import StubTreq
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from zkos_tw.interfaces import IHealthSource
from zkos_tw.status.node_status import NodeStatus
from zkos_tw.status.server import StatusServer


class HealthTests(TestCase):
    """``GET /status/health``."""

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.status = NodeStatus("main_node")
        self.treq = StubTreq(StatusServer(self.status, self.clock).app.resource())

    async def get(self, path="/status/health", method="GET"):
        response = await self.treq.request(method, "http://node" + path)
        body = await response.content()
        return response.code, (json.loads(body) if body else None)

    def test_interface(self):
        """NodeStatus provides IHealthSource."""
        self.assertTrue(verifyObject(IHealthSource, self.status))

    async def test_starting_is_503(self):
        """While starting, the node is not healthy yet."""
        code, body = await self.get()
        self.assertEqual(code, 503)
        self.assertEqual(body["healthy"], False)
        self.assertEqual(body["status"], "starting")
        self.assertIsNone(body["last_block"])

    async def test_running_with_last_block_age(self):
        """Running: 200, the role, and the last block's number and age in seconds."""
        self.status.set_phase("running")
        self.status.block_sealed(42, 1_700_000_000)
        self.clock.advance(2.5)
        code, body = await self.get()
        self.assertEqual(code, 200)
        self.assertEqual(body["healthy"], True)
        self.assertEqual(body["role"], "main_node")
        self.assertEqual(
            body["last_block"], {"number": 42, "timestamp": 1_700_000_000, "age_seconds": 2.5}
        )

    async def test_problem_is_503(self):
        """A reported problem makes the node unhealthy until it is cleared."""
        self.status.set_phase("running")
        self.status.set_problem("l1", "anvil does not answer")
        code, body = await self.get()
        self.assertEqual(code, 503)
        self.assertEqual(body["status"], "unhealthy")
        self.assertEqual(body["problems"], ["l1: anvil does not answer"])
        self.status.clear_problem("l1")
        code, body = await self.get()
        self.assertEqual(code, 200)

    async def test_problem_source(self):
        """A problem source (the L1 connection) is asked on every request."""
        from zkos_tw.l1.health import L1Health

        l1 = L1Health(self.clock)
        self.status.add_problem_source(l1)
        self.status.set_phase("running")
        l1.failed("connection refused")
        code, body = await self.get()
        self.assertEqual((code, body["problems"]), (503, ["L1 unreachable: connection refused"]))
        l1.succeeded()
        code, body = await self.get()
        self.assertEqual((code, body["problems"]), (200, []))

    async def test_sections(self):
        """A section added to the status is in the report, asked on every request."""
        stages = {"commit": {"state": "running"}}
        self.status.add_section("l1_senders", lambda: dict(stages))
        self.status.set_phase("running")
        code, body = await self.get()
        self.assertEqual((code, body["l1_senders"]), (200, {"commit": {"state": "running"}}))
        stages["commit"] = {"state": "stopped"}
        code, body = await self.get()
        self.assertEqual(body["l1_senders"], {"commit": {"state": "stopped"}})

    async def test_stopping_is_503(self):
        """After SIGTERM (phase stopping) the answer is 503, as in the reference."""
        self.status.set_phase("stopping")
        code, body = await self.get()
        self.assertEqual((code, body["healthy"]), (503, False))

    async def test_unknown_path_and_method(self):
        """Unknown paths are 404 and wrong methods 405, both with a JSON body."""
        code, body = await self.get("/nope")
        self.assertEqual((code, body), (404, {"error": "not found"}))
        code, body = await self.get(method="POST")
        self.assertEqual((code, body), (405, {"error": "method not allowed"}))

    def test_bad_phase(self):
        """Only known phases can be set."""
        self.assertRaises(ValueError, self.status.set_phase, "sleeping")
