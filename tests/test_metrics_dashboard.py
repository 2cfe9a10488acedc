"""The Grafana dashboard (``dashboards/zksync-os-sequencer.json``) queries only metrics we have.

Every panel's PromQL is reduced to its metric names (label matchers, ranges, functions and
keywords removed); each must be a sample name in the registry of a node that produced a block.
"""

from __future__ import annotations

import json
import os
import re

from twisted.trial.unittest import SynchronousTestCase

from tests import test_metrics_chain
from tests.fixtures import REPO_ROOT
from tests.sequencer import test_service

DASHBOARD = os.path.join(REPO_ROOT, "dashboards", "zksync-os-sequencer.json")
_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "le",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        following = expr[match.end() :].lstrip()
        if following.startswith("(") or match.group() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


class DashboardTests(SynchronousTestCase):
    """The dashboard's title and every query's metrics."""

    def test_parser(self):
        """Functions, label matchers, ranges and groupings are not metric names."""
        self.assertEqual(
            metric_names('histogram_quantile(0.99, sum by (le) (rate(a_bucket{m="x"}[1m]))) / b'),
            {"a_bucket", "b"},
        )

    def test_every_query_metric_exists(self):
        """After one block (and one L1 watcher poll) every metric the panels read is exposed."""
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        self.assertEqual(dashboard["title"], "zksync-os-sequencer")
        node = test_metrics_chain.MetricsNode(self)
        node.mempool.add(test_service.signed(0))
        node.reactor.advance(0.1)
        test_metrics_chain.L1WatcherMetrics(node.registry).scanned_range("priority_tx", 5, 9, 1)
        exposed = {s.name for family in node.registry.collect() for s in family.samples}
        queried = set()
        for panel in dashboard["panels"]:
            self.assertTrue(panel["targets"], panel["title"])
            for target in panel["targets"]:
                queried |= metric_names(target["expr"])
        self.assertGreater(len(queried), 10)
        self.assertEqual(sorted(queried - exposed), [])
