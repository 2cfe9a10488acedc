"""Tests for ``zkos_tw.metrics``: the registry, the general metrics, and the /metrics page."""

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families
from treq.testing import StubTreq
from twisted.trial.unittest import TestCase

from zkos_tw.metrics import MetricsPage, NodeMetrics, create_registry


class MetricsPageTests(TestCase):
    """``GET /metrics`` through StubTreq."""

    def setUp(self):
        self.registry = create_registry()
        NodeMetrics(self.registry, "main_node", 270, "0x36615cf349d7f6344891b1e7ca7c72883f5dc049")
        self.treq = StubTreq(MetricsPage(self.registry))

    async def test_prometheus_text(self):
        """The page parses with prometheus_client's parser and has ours and process metrics."""
        response = await self.treq.get("http://node/metrics")
        self.assertEqual(response.code, 200)
        self.assertIn(b"text/plain", response.headers.getRawHeaders(b"content-type")[0])
        families = {f.name: f for f in text_string_to_metric_families(await response.text())}
        self.assertEqual(families["chain_id"].samples[0].value, 270)
        started = families["process_started_at"].samples[0]
        self.assertEqual(started.labels["role"], "main_node")
        self.assertIn("process_resident_memory_bytes", families)
        self.assertIn("python_info", families)

    async def test_openmetrics_when_asked(self):
        """An OpenMetrics Accept header gets the OpenMetrics format, which its parser reads."""
        response = await self.treq.get(
            "http://node/metrics", headers={b"accept": [b"application/openmetrics-text"]}
        )
        text = await response.text()
        self.assertTrue(text.rstrip().endswith("# EOF"))
        names = {f.name for f in parse_om(text)}
        self.assertIn("chain_id", names)
