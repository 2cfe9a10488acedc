"""``zkosctl bench``: option parsing and a tiny in-process tree run."""

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.cli import bench as bench_cli
from zkos_tw.merkle import bench


class BenchTests(SynchronousTestCase):
    """The tree benchmark reports its figures; the CLI knows its benchmarks."""

    def test_tiny_run(self):
        """A 3,000-leaf run reports rates, sizes and memory."""
        result = bench.run(leaves=3000, block_size=500)
        self.assertEqual(result["leaves"], 3000)
        self.assertEqual(result["blocks"], 6)
        self.assertGreater(result["updates_per_s"], 0)
        self.assertGreater(result["patch_bytes_per_million_leaves"], 0)
        self.assertGreater(result["memory_bytes_per_million_leaves"]["total"], 0)

    def test_options(self):
        """``bench tree --json --leaves N`` parses; a missing name is a usage error."""
        options = bench_cli.Options()
        options.parseOptions(["tree", "--json", "--leaves", "5000", "--paths", "cext"])
        self.assertEqual(options.subCommand, "tree")
        self.assertEqual((options.subOptions["leaves"], options.subOptions["json"]), (5000, 1))
        self.assertIn("tree", bench_cli.BENCHMARKS)
        self.assertRaises(usage.UsageError, bench_cli.Options().parseOptions, [])
