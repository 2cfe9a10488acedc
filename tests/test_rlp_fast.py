"""``zkos_tw.rlp_fast.encode`` gives pyrlp's bytes for every item the node's records hold."""

import rlp
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.rlp_fast import DecodingError, decode, encode

items = st.recursive(
    st.one_of(st.binary(max_size=300), st.integers(min_value=0, max_value=2**256 - 1)),
    lambda children: st.lists(children, max_size=8),
    max_leaves=40,
)


class EncodeTests(SynchronousTestCase):
    @given(items)
    def test_same_bytes_as_pyrlp(self, item):
        self.assertEqual(encode(item), rlp.encode(item))

    def test_boundaries(self):
        for item in (0, 127, 128, 255, 256, b"", b"\x00", b"\x7f", b"\x80", b"x" * 55,
                     b"x" * 56, b"y" * 70_000, [b"z" * 60], [[]], (1, (2, b"")), 2**256 - 1):  # fmt: skip
            self.assertEqual(encode(item), rlp.encode(item), item)

    def test_refuses_what_records_never_hold(self):
        self.assertRaises(ValueError, encode, -1)
        self.assertRaises(TypeError, encode, "text")
        self.assertRaises(TypeError, encode, True)
        self.assertRaises(TypeError, encode, None)


class DecodeTests(SynchronousTestCase):
    """``decode`` returns what pyrlp's strict ``decode`` returns and refuses what it refuses."""

    @given(items)
    def test_same_items_as_pyrlp(self, item):
        data = rlp.encode(item)
        self.assertEqual(decode(data), rlp.decode(data, strict=True))

    @given(st.binary(max_size=80))
    def test_arbitrary_bytes_refused_alike(self, data):
        """Random bytes: both decode to the same item, or both refuse."""
        try:
            expected = rlp.decode(data, strict=True)
        except rlp.exceptions.DecodingError:
            self.assertRaises(DecodingError, decode, data)
        else:
            self.assertEqual(decode(data), expected)

    def test_refusals(self):
        """Truncated, trailing, non-canonical single byte, short item in long form, leading
        zeros in a length, a list item running past its list."""
        for data in (
            b"", b"\x82a", b"\x80\x00", b"\x81\x05", b"\xb8\x05abcde", b"\xb9\x00\x38" + b"x" * 56,
            b"\xf8\x02\x01\x02", b"\xc2\x83abc", b"\xc1", b"\xb8",
        ):  # fmt: skip
            self.assertRaises(rlp.exceptions.DecodingError, rlp.decode, data, strict=True)
            self.assertRaises(DecodingError, decode, data)
        self.assertTrue(issubclass(DecodingError, ValueError))

    def test_boundaries(self):
        for item in (b"", b"\x00", b"\x7f", b"\x80", b"x" * 55, b"x" * 56, b"y" * 70_000,
                     [b"z" * 60], [[]], [b"a", [b"b", [b""]]], [b"q" * 30] * 40):  # fmt: skip
            self.assertEqual(decode(rlp.encode(item)), rlp.decode(rlp.encode(item)), item)
