"""Hex codecs, parameter types, revert reasons and the eth_call fee checks."""

from __future__ import annotations

from eth_abi import encode
from twisted.trial.unittest import TestCase

from zkos_tw.rpc import codec
from zkos_tw.rpc.errors import BackendError, ExecutionReverted, InvalidParams, revert_reason
from zkos_tw.rpc.eth import check_call_fees


class HexTests(TestCase):
    """Quantities and data."""

    def test_quantity_encoding(self):
        """Quantities have no leading zeros; zero is ``0x0``."""
        self.assertEqual(codec.quantity(0), "0x0")
        self.assertEqual(codec.quantity(270), "0x10e")
        self.assertEqual(codec.data(b""), "0x")
        self.assertEqual(codec.data(b"\x00\x01"), "0x0001")

    def test_quantity_decoding(self):
        """Hex strings (any case, leading zeros tolerated) and plain integers decode."""
        self.assertEqual(codec.parse_quantity("0x0"), 0)
        self.assertEqual(codec.parse_quantity("0x00FF"), 255)
        self.assertEqual(codec.parse_quantity(12), 12)

    def test_bad_quantities(self):
        """Empty hex, no prefix, non-hex, negatives, booleans and overflows are refused."""
        for bad in ("0x", "12", "0xzz", -1, True, None, [], "0x1" + "0" * 64):
            with self.assertRaises(InvalidParams, msg=repr(bad)):
                codec.parse_quantity(bad)
        with self.assertRaises(InvalidParams):
            codec.parse_u64("0x10000000000000000")

    def test_data(self):
        """Data needs an even number of hex digits; fixed sizes are checked."""
        self.assertEqual(codec.parse_data("0x"), b"")
        self.assertEqual(codec.parse_address("0x" + "ab" * 20), b"\xab" * 20)
        for bad in ("0x1", "ab", 5):
            with self.assertRaises(InvalidParams):
                codec.parse_data(bad)
        with self.assertRaises(InvalidParams):
            codec.parse_address("0x" + "ab" * 19)
        with self.assertRaises(InvalidParams):
            codec.parse_hash("0x" + "ab" * 20)

    def test_bool(self):
        """Only JSON booleans are booleans."""
        self.assertIs(codec.parse_bool(False), False)
        with self.assertRaises(InvalidParams):
            codec.parse_bool("true")


class BlockIdTests(TestCase):
    """Block numbers, tags, hashes and EIP-1898 objects."""

    def test_tags_and_numbers(self):
        """Every tag, and hex numbers."""
        for tag in ("latest", "pending", "safe", "finalized", "earliest"):
            self.assertEqual(codec.parse_block_number(tag), codec.BlockId(tag=tag))
        self.assertEqual(codec.parse_block_number("0x10"), codec.BlockId(number=16))

    def test_bad_tags(self):
        """Unknown tags, hashes (for block-number params) and non-strings are refused."""
        for bad in ("newest", "Latest", 5.5, {}, "0x" + "11" * 32):
            with self.assertRaises(InvalidParams, msg=repr(bad)):
                codec.parse_block_number(bad)

    def test_block_id_forms(self):
        """A block id may also be a hash or an EIP-1898 object."""
        h = "0x" + "11" * 32
        self.assertEqual(codec.parse_block_id(h), codec.BlockId(hash=b"\x11" * 32))
        self.assertEqual(
            codec.parse_block_id({"blockHash": h, "requireCanonical": True}),
            codec.BlockId(hash=b"\x11" * 32, require_canonical=True),
        )
        self.assertEqual(codec.parse_block_id({"blockNumber": "0x2"}), codec.BlockId(number=2))
        with self.assertRaises(InvalidParams):
            codec.parse_block_id({"blockHash": h, "blockNumber": "0x1"})


class RequestObjectTests(TestCase):
    """Call requests and filter objects."""

    def test_call_request(self):
        """Fields decode; ``data`` is an alias of ``input``; unknown fields are ignored."""
        request = codec.parse_call_request(
            {
                "from": "0x" + "01" * 20,
                "to": "0x" + "02" * 20,
                "gas": "0x5208",
                "value": "0x1",
                "data": "0xabcd",
                "type": "0x2",
                "whatever": 1,
            }
        )
        self.assertEqual(request.from_, b"\x01" * 20)
        self.assertEqual(request.gas, 21000)
        self.assertEqual(request.input, b"\xab\xcd")
        self.assertEqual(request.transaction_type, 2)
        self.assertIsNone(request.nonce)

    def test_call_request_conflicting_input(self):
        """``data`` and ``input`` that differ are refused."""
        with self.assertRaises(InvalidParams):
            codec.parse_call_request({"data": "0x01", "input": "0x02"})

    def test_filter(self):
        """Single or many addresses, topic positions with null and alternatives."""
        t = "0x" + "aa" * 32
        f = codec.parse_filter(
            {"address": "0x" + "01" * 20, "topics": [None, [t, "0x" + "bb" * 32], None]}
        )
        self.assertEqual(f.addresses, (b"\x01" * 20,))
        self.assertEqual(f.topics, (None, (b"\xaa" * 32, b"\xbb" * 32)))
        self.assertIsNone(f.from_block)

    def test_filter_hash_and_range(self):
        """blockHash together with fromBlock/toBlock is refused."""
        with self.assertRaises(InvalidParams) as e:
            codec.parse_filter({"blockHash": "0x" + "00" * 32, "fromBlock": "0x1"})
        self.assertIn("cannot specify both blockHash", e.exception.data)


class RevertReasonTests(TestCase):
    """Revert data decoded as alloy does (reference §3.1)."""

    def test_error_string(self):
        """``Error(string)``: the reason, without alloy's ``revert: `` prefix."""
        output = bytes.fromhex("08c379a0") + encode(["string"], ["not enough"])
        error = ExecutionReverted(output)
        self.assertEqual(error.to_json()["code"], 3)
        self.assertEqual(error.message, "execution reverted: not enough")
        self.assertEqual(error.data, "0x" + output.hex())

    def test_panic(self):
        """``Panic(uint256)``: alloy's panic text with the code."""
        output = bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big")
        self.assertEqual(revert_reason(output), "panic: arithmetic underflow or overflow (0x11)")
        unknown = bytes.fromhex("4e487b71") + (0x99).to_bytes(32, "big")
        self.assertEqual(revert_reason(unknown), "panic: unknown code (0x99)")

    def test_no_reason(self):
        """Empty or undecodable revert data: plain ``execution reverted``."""
        self.assertEqual(ExecutionReverted(b"").message, "execution reverted")
        self.assertEqual(ExecutionReverted(b"").data, "0x")
        self.assertEqual(ExecutionReverted(b"\xde\xad\xbe\xef").message, "execution reverted")


class CallFeeTests(TestCase):
    """reth's ``CallFees`` checks with the reference's messages."""

    def fails(self, message, **fields):
        with self.assertRaises(BackendError) as e:
            check_call_fees(codec.CallRequest(**fields), 1000)
        self.assertEqual(e.exception.message, message)

    def test_valid(self):
        """No fees, a gas price covering the base fee, or a consistent EIP-1559 pair pass; zero
        fees skip the base-fee check; a tip alone is an EIP-1559 request at base fee + tip."""
        for fields in (
            {},
            {"gas_price": 0},
            {"gas_price": 1000},
            {"max_fee_per_gas": 2000, "max_priority_fee_per_gas": 1},
            {"max_fee_per_gas": 0, "max_priority_fee_per_gas": 0},
            {"max_priority_fee_per_gas": 3},
            {"max_priority_fee_per_gas": 2**128 - 1001},
        ):
            check_call_fees(codec.CallRequest(**fields), 1000)

    def test_errors(self):
        """Each failing combination gets its exact message."""
        self.fails(
            "both `gasPrice` and (`maxFeePerGas` or `maxPriorityFeePerGas`) specified",
            gas_price=1,
            max_fee_per_gas=2000,
        )
        self.fails("`maxFeePerGas` less than `block.baseFee`", max_fee_per_gas=999)
        self.fails(
            "`maxPriorityFeePerGas` higher than `maxFeePerGas`",
            max_fee_per_gas=2000,
            max_priority_fee_per_gas=2001,
        )
        self.fails("`maxPriorityFeePerGas` is too high", max_priority_fee_per_gas=2**256 - 1)
        # The reference's fees are u128: u128::MAX over the base fee is too high already.
        self.fails("`maxPriorityFeePerGas` is too high", max_priority_fee_per_gas=2**128 - 1)
        # A legacy price under the base fee (0 means "no price" and passes).
        self.fails("`maxFeePerGas` less than `block.baseFee`", gas_price=5)

    def test_missing_priority_fee(self):
        """``maxFeePerGas`` alone makes an EIP-1559 request without its tip (reference §3.5)."""
        self.fails(
            "missing `maxPriorityFeePerGas` field for EIP-1559 transaction",
            max_fee_per_gas=1_000_000_001,
        )
        self.fails(
            "missing `maxPriorityFeePerGas` field for EIP-1559 transaction",
            max_fee_per_gas=0,
        )
        # The base-fee check comes first, as in the reference.
        self.fails("`maxFeePerGas` less than `block.baseFee`", max_fee_per_gas=999)
