"""The committed benchmark contract artifacts are what solcjs makes of ``benchmarks/evm/*.sol``."""

import os

from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT
from tests.integration.solc import solcjs_path
from zkos_tw.evmbench import contracts

SOURCES = os.path.join(REPO_ROOT, "benchmarks", "evm")


class ArtifactsTests(SynchronousTestCase):
    """``contracts.json`` matches the sources and loads."""

    def test_recompiled_sources_match_committed_artifacts(self):
        """Recompiling the sources gives exactly the committed file (run build.py if not)."""
        if not os.path.isdir(SOURCES):
            self.skipTest(f"{SOURCES} is absent (tests run outside a checkout)")
        fresh = contracts.dumps(contracts.compile_sources(solcjs_path(), SOURCES))
        with open(contracts.ARTIFACTS_PATH) as f:
            committed = f.read()
        self.assertEqual(
            fresh, committed, "benchmarks/evm/*.sol changed: run benchmarks/evm/build.py"
        )

    def test_load(self):
        """Every contract has runtime code and the functions the workloads call."""
        artifacts = contracts.load_artifacts()
        self.assertEqual(artifacts["version"], contracts.ARTIFACTS_VERSION)
        self.assertEqual(contracts.selector(artifacts, "ERC20Loop", "transfer").hex(), "a9059cbb")
        self.assertEqual(len(contracts.selector(artifacts, "KeccakLoop", "hashLoop")), 4)
        self.assertTrue(contracts.runtime_code(artifacts, "ERC20Loop").startswith(b"\x60\x80"))

    def test_unusable_artifacts(self):
        """A missing file or an unknown version is one clear ``ArtifactsError``."""
        missing = self.mktemp()
        error = self.assertRaises(contracts.ArtifactsError, contracts.load_artifacts, missing)
        self.assertIn("cannot read benchmark contracts", str(error))
        other = self.mktemp()
        with open(other, "w") as f:
            f.write('{"version": 99}')
        error = self.assertRaises(contracts.ArtifactsError, contracts.load_artifacts, other)
        self.assertIn("version 99", str(error))
