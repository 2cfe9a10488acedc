"""``SortedKeys`` (pure and compiled) against a plain sorted list."""

import importlib
from bisect import bisect_left

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from zkos_tw.merkle import sorted_keys

keys = st.one_of(
    st.binary(min_size=32, max_size=32), st.integers(0, 300).map(lambda n: n.to_bytes(32, "big"))
)


def _compiled():
    try:
        return importlib.import_module("zkos_tw._ext._merkle").SortedKeys
    except ImportError:
        return None


IMPLEMENTATIONS = [c for c in (sorted_keys.SortedKeys, _compiled()) if c is not None]


class SortedKeysTests(SynchronousTestCase):
    """Membership, order and predecessors match a sorted list, across bucket growth, for the
    pure and (when built) the compiled implementation."""

    @given(st.lists(keys, max_size=400), st.lists(keys, max_size=20))
    def test_matches_sorted_list(self, inserted, probes):
        """Built incrementally or at once, the set agrees with ``sorted(set(...))``."""
        reference = sorted(set(inserted))
        for cls in IMPLEMENTATIONS:
            incremental = cls()
            incremental.update(inserted)
            for s in (incremental, cls(inserted)):
                self.assertEqual(list(s), reference)
                self.assertEqual(len(s), len(reference))
                for probe in probes + inserted[:5]:
                    pos = bisect_left(reference, probe)
                    self.assertEqual(s.lower(probe), reference[pos - 1] if pos else None)
                    self.assertEqual(probe in s, probe in reference)

    def test_growth(self):
        """Thousands of keys regrow the buckets and stay ordered."""
        data = [(i * 2654435761 % 2**32).to_bytes(4, "big") * 8 for i in range(3000)]
        for cls in IMPLEMENTATIONS:
            s = cls()
            s.update(data)
            self.assertEqual(list(s), sorted(set(data)))
            self.assertGreater(s.memory_bytes(), 0)

    def test_compiled_key_length(self):
        """The compiled set accepts only 32-byte keys."""
        cls = _compiled()
        if cls is None:
            raise SkipTest("zkos_tw._ext._merkle is not built")
        self.assertRaises(ValueError, cls().add, b"\x01" * 31)
