"""L1 transactions (0x7f priority, 0x7e upgrade): ABI conversion and hash, envelope v1 golden
bytes, and execution with the mint / fee / refund rules of state.md §9."""

from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import CONTRACT, OTHER, block_env, push
from zkos_tw.execution.l1_transactions import (
    BOOTLOADER_FORMAL_ADDRESS,
    PRIORITY_TX_TYPE,
    UPGRADE_TX_TYPE,
    L1Transaction,
    L1TransactionError,
    apply_l1_transaction,
    decode_canonical,
    decode_envelope,
    is_l1_envelope,
    l1_intrinsic_gas,
)
from zkos_tw.execution.receipts import Log
from zkos_tw.hashing import keccak256
from zkos_tw.testing import MemoryState

# The server's own test transaction (lib/types/src/transaction/l1.rs::l1_rpc_json) and its hash.
VECTOR_ADDRESS = 0x357FE6C9F85DC429596577CF2E7A191F60B6865B
VECTOR_HASH = bytes.fromhex("4164624346d4c915977debf68dbd721f8ae86b964080925aecf6911dd47a6ece")
# Envelope v1 of that transaction: 0x7f || rlp([hash, initiator, to, ..., [], 0, 0, 0]).
VECTOR_ENVELOPE = bytes.fromhex(
    "7ff87ba04164624346d4c915977debf68dbd721f8ae86b964080925aecf6911dd47a6ece"
    "94357fe6c9f85dc429596577cf2e7a191f60b6865b94357fe6c9f85dc429596577cf2e7a191f60b6865b"
    "830493e0820320840ee6fcf4800132864b08a6610e32"
    "94357fe6c9f85dc429596577cf2e7a191f60b6865b80c0808080"
)
SENDER = bytes.fromhex("00000000000000000000000000000000000a11ce")
REFUND = bytes.fromhex("000000000000000000000000000000000000f00d")


def canonical(**overrides) -> list:
    """The vector transaction as an L2CanonicalTransaction field list, with overrides."""
    fields = {
        "txType": PRIORITY_TX_TYPE,
        "from": VECTOR_ADDRESS,
        "to": VECTOR_ADDRESS,
        "gasLimit": 0x493E0,
        "gasPerPubdataByteLimit": 0x320,
        "maxFeePerGas": 0xEE6FCF4,
        "maxPriorityFeePerGas": 0,
        "paymaster": 0,
        "nonce": 1,
        "value": 0x32,
        "reserved": [0x4B08A6610E32, VECTOR_ADDRESS, 0, 0],
        "data": b"",
        "signature": b"",
        "factoryDeps": [],
        "paymasterInput": b"",
        "reservedDynamic": b"",
    }
    fields.update(overrides)
    return list(fields.values())


def l1_tx(
    *,
    to=OTHER,
    value=0,
    gas=300_000,
    max_fee=10,
    to_mint=None,
    data=b"",
    tx_type=PRIORITY_TX_TYPE,
    nonce=0,
) -> L1Transaction:
    """A priority tx from SENDER with refunds to REFUND; ``to_mint`` covers value and gas."""
    if to_mint is None:
        to_mint = value + gas * max_fee + 1_000
    fields = canonical(
        txType=tx_type,
        **{"from": int.from_bytes(SENDER, "big")},
        to=int.from_bytes(to, "big"),
        gasLimit=gas,
        gasPerPubdataByteLimit=800,
        maxFeePerGas=max_fee,
        nonce=nonce,
        value=value,
        reserved=[to_mint, int.from_bytes(REFUND, "big"), 0, 0],
        data=data,
    )
    return L1Transaction.from_canonical(fields, tx_type)


class CanonicalConversionTests(SynchronousTestCase):
    """``L1Transaction.from_canonical``: the hash, the field mapping and the §7.3 checks."""

    def test_vector_hash(self):
        """The server's test transaction hashes to its documented hash."""
        tx = L1Transaction.from_canonical(canonical())
        self.assertEqual(tx.hash, VECTOR_HASH)

    def test_mapping(self):
        """initiator/to/refund are the low 20 bytes; to_mint = reserved[0]; nonce = id."""
        tx = L1Transaction.from_canonical(canonical())
        address = VECTOR_ADDRESS.to_bytes(20, "big")
        self.assertEqual((tx.initiator, tx.to, tx.refund_recipient, tx.sender), (address,) * 4)
        self.assertEqual((tx.gas, tx.gas_per_pubdata_byte_limit), (300_000, 800))
        self.assertEqual((tx.max_fee_per_gas, tx.nonce, tx.priority_id), (0xEE6FCF4, 1, 1))
        self.assertEqual((tx.value, tx.to_mint), (0x32, 0x4B08A6610E32))

    def test_canonical_round_trip(self):
        """``canonical_tuple`` gives back fields that hash to the same hash."""
        tx = L1Transaction.from_canonical(canonical(factoryDeps=[5]))
        again = L1Transaction.from_canonical(tx.canonical_tuple())
        self.assertEqual(again, tx)
        self.assertEqual(tx.factory_deps, ((5).to_bytes(32, "big"),))

    def test_decode_abi_bytes(self):
        """``decode_canonical`` reads ``abi.encode(tx)`` bytes."""
        from eth_abi import encode

        from zkos_tw.execution.l1_transactions import L2_CANONICAL_TRANSACTION_ABI

        encoded = encode([L2_CANONICAL_TRANSACTION_ABI], [canonical()])
        self.assertEqual(keccak256(encoded), VECTOR_HASH)
        self.assertEqual(decode_canonical(encoded).hash, VECTOR_HASH)

    def test_decode_garbage(self):
        """Bytes that are not an ABI struct raise one clear error."""
        e = self.assertRaises(L1TransactionError, decode_canonical, b"\x01" * 40)
        self.assertIn("malformed L2CanonicalTransaction", str(e))

    def test_rejections(self):
        """Every §7.3 rule names itself in the error."""
        cases = [
            ({"txType": 0x71}, "invalid transaction type: 0x71"),
            ({"maxPriorityFeePerGas": 1}, "non-zero priority fee"),
            ({"paymaster": 7}, "non-zero paymaster"),
            ({"reserved": [1, 2, 3, 0]}, "non-zero reserved field #2"),
            ({"reserved": [1, 2, 0, 4]}, "non-zero reserved field #3"),
            ({"signature": b"\x01"}, "non-empty signature"),
            ({"paymasterInput": b"\x01"}, "non-empty paymaster input"),
            ({"reservedDynamic": b"\x01"}, "non-empty reserved dynamic bytes"),
        ]
        for overrides, message in cases:
            e = self.assertRaises(
                L1TransactionError, L1Transaction.from_canonical, canonical(**overrides)
            )
            self.assertIn(message, str(e))

    def test_upgrade_type(self):
        """An upgrade tx is converted with the 0x7e type expected; a 0x7f is refused there."""
        tx = L1Transaction.from_canonical(canonical(txType=UPGRADE_TX_TYPE), UPGRADE_TX_TYPE)
        self.assertEqual(tx.tx_type, UPGRADE_TX_TYPE)
        self.assertRaises(
            L1TransactionError, L1Transaction.from_canonical, canonical(), UPGRADE_TX_TYPE
        )


class EnvelopeTests(SynchronousTestCase):
    """Envelope v1 (reference §4.4): golden bytes, round trip, clear errors."""

    def test_golden_bytes(self):
        """The vector transaction encodes to the pinned bytes."""
        tx = L1Transaction.from_canonical(canonical())
        self.assertEqual(tx.raw, VECTOR_ENVELOPE)

    def test_decode_golden(self):
        """The pinned bytes decode to the same transaction, hash included."""
        self.assertEqual(
            decode_envelope(VECTOR_ENVELOPE), L1Transaction.from_canonical(canonical())
        )

    def test_round_trip_upgrade_with_deps_and_data(self):
        """A 0x7e tx with calldata and factory deps survives the envelope."""
        tx = L1Transaction.from_canonical(
            canonical(txType=UPGRADE_TX_TYPE, data=b"\x00\x01\x02", factoryDeps=[1, 2**255]),
            UPGRADE_TX_TYPE,
        )
        self.assertEqual(tx.raw[0], 0x7E)
        self.assertEqual(decode_envelope(tx.raw), tx)

    def test_is_l1_envelope(self):
        """Only the 0x7f / 0x7e type bytes count as L1 envelopes."""
        self.assertTrue(is_l1_envelope(VECTOR_ENVELOPE))
        self.assertFalse(is_l1_envelope(b"\x02\xc0"))
        self.assertFalse(is_l1_envelope(b""))

    def test_decode_errors(self):
        """Wrong type byte, bad RLP, wrong item count, signature items: one-line errors."""
        cases = [
            (b"", "not an L1 transaction envelope (type empty)"),
            (b"\x02" + VECTOR_ENVELOPE[1:], "type 0x02"),
            (b"\x7f\xff", "malformed L1 envelope"),
            (b"\x7f\xc0", "16 items, got 0"),
            (VECTOR_ENVELOPE[:-1] + b"\x01", "signature items must be empty"),
        ]
        for raw, message in cases:
            e = self.assertRaises(L1TransactionError, decode_envelope, raw)
            self.assertIn(message, str(e))


class ApplyTests(SynchronousTestCase):
    """``apply_l1_transaction``: mint, call, fee to 0x8001, refund, receipt and L2->L1 log."""

    def setUp(self):
        self.state = MemoryState()
        self.env = block_env(self.state)

    def balance(self, address: bytes) -> int:
        return self.state.get_balance(address)

    def test_deposit_to_eoa(self):
        """A plain deposit: value to ``to``, 21,000 gas of fee to 0x8001, the rest refunded."""
        tx = l1_tx(value=10**18, max_fee=10, gas=300_000)
        result = apply_l1_transaction(self.env, tx, cumulative_gas_used=5, tx_number_in_block=3)
        self.assertTrue(result.succeeded)
        self.assertEqual(result.gas_used, 21_000)
        self.assertEqual(result.cumulative_gas_used, 21_005)
        self.assertEqual(result.fee, 210_000)
        self.assertEqual(self.balance(OTHER), 10**18)
        self.assertEqual(self.balance(SENDER), 0)
        self.assertEqual(self.balance(BOOTLOADER_FORMAL_ADDRESS), 210_000)
        self.assertEqual(self.balance(REFUND), tx.to_mint - 10**18 - 210_000)
        self.assertEqual(result.refund, self.balance(REFUND))
        self.assertEqual(result.receipt.tx_type, 0x7F)
        self.assertEqual(result.effective_gas_price, 10)
        self.assertEqual(self.state.get_nonce(SENDER), 0)
        log = result.l2_to_l1_log
        self.assertEqual(log.sender, (0x8001).to_bytes(20, "big"))
        self.assertEqual((log.key, log.value), (tx.hash, (1).to_bytes(32, "big")))
        self.assertEqual(log.encode()[:4], b"\x00\x01\x00\x03")
        self.assertEqual(len(log.encode()), 88)
        self.assertEqual(log.record_entry()[:3], (0, 1, 3))

    def test_deposit_to_self(self):
        """``to == from`` (what ``zkosctl deposit`` sends): the sender ends with the value."""
        tx = l1_tx(to=SENDER, value=5 * 10**18)
        apply_l1_transaction(self.env, tx)
        self.assertEqual(self.balance(SENDER), 5 * 10**18)

    def test_total_minted_is_to_mint(self):
        """Every wei of ``to_mint`` lands somewhere: value + fee + refund."""
        tx = l1_tx(value=123, max_fee=7, gas=250_000, to_mint=10**12)
        result = apply_l1_transaction(self.env, tx)
        total = self.balance(OTHER) + self.balance(BOOTLOADER_FORMAL_ADDRESS)
        total += self.balance(REFUND)
        self.assertEqual(total, 10**12)
        self.assertEqual(result.fee + result.refund + 123, 10**12)

    def test_call_with_logs_and_storage(self):
        """The call runs the code at ``to``: its storage write and log are in the outcome."""
        code = push(42) + push(1) + bytes([0x55])  # SSTORE(1, 42)
        code += push(0xAB) + push(0) + push(0) + bytes([0xA1, 0x00])  # LOG1(0, 0, 0xab); STOP
        self.state.set_code(CONTRACT, code)
        tx = l1_tx(to=CONTRACT, value=9, data=b"\x01\x00")
        result = apply_l1_transaction(self.env, tx)
        self.assertTrue(result.succeeded)
        self.assertEqual(self.state.get_storage(CONTRACT, 1), 42)
        self.assertEqual(result.receipt.logs, (Log(CONTRACT, ((0xAB).to_bytes(32, "big"),), b""),))
        self.assertEqual(self.balance(CONTRACT), 9)
        self.assertGreater(result.gas_used, l1_intrinsic_gas(tx))
        self.assertEqual(l1_intrinsic_gas(tx), 21_000 + 16 + 4)

    def test_revert_rolls_value_back_and_refunds_it(self):
        """A reverting call: no value anywhere but the refund recipient, status 0, log value 0."""
        code = push(0) + push(0) + bytes([0xFD])  # REVERT(0, 0)
        self.state.set_code(CONTRACT, code)
        tx = l1_tx(to=CONTRACT, value=10**6, max_fee=3)
        result = apply_l1_transaction(self.env, tx)
        self.assertFalse(result.succeeded)
        self.assertEqual(result.receipt.error, "Revert")
        self.assertEqual(self.balance(CONTRACT), 0)
        self.assertEqual(self.balance(SENDER), 0)
        self.assertEqual(self.balance(REFUND), tx.to_mint - result.fee)
        self.assertEqual(result.l2_to_l1_log.value, bytes(32))

    def test_out_of_gas_charges_the_whole_limit(self):
        """A call that runs out of gas pays for all of its gas limit."""
        self.state.set_code(CONTRACT, bytes([0x5B, 0x60, 0x00, 0x56]))  # JUMPDEST; JUMP(0)
        tx = l1_tx(to=CONTRACT, gas=100_000, max_fee=2)
        result = apply_l1_transaction(self.env, tx)
        self.assertFalse(result.succeeded)
        self.assertEqual((result.gas_used, result.fee), (100_000, 200_000))

    def test_not_enough_to_mint_is_not_rejected(self):
        """to_mint below value + fee cap: a failed receipt, to_mint all to the refund address."""
        tx = l1_tx(value=100, gas=300_000, max_fee=10, to_mint=1_000)
        result = apply_l1_transaction(self.env, tx, cumulative_gas_used=77)
        self.assertFalse(result.succeeded)
        self.assertIn("to_mint 1000 < value", result.receipt.error)
        self.assertEqual((result.gas_used, result.cumulative_gas_used), (0, 77))
        self.assertEqual(self.balance(REFUND), 1_000)
        self.assertEqual(self.balance(OTHER), 0)

    def test_gas_below_intrinsic_is_not_rejected(self):
        """A gas limit below the intrinsic cost: a failed receipt with nothing charged."""
        tx = l1_tx(gas=20_000, max_fee=1)
        result = apply_l1_transaction(self.env, tx)
        self.assertFalse(result.succeeded)
        self.assertIn("below intrinsic gas", result.receipt.error)
        self.assertEqual(self.balance(REFUND), tx.to_mint)

    def test_upgrade_transaction(self):
        """A 0x7e tx follows the same path; its receipt has type 0x7e."""
        tx = l1_tx(tx_type=UPGRADE_TX_TYPE, max_fee=0, to_mint=0, nonce=28)
        result = apply_l1_transaction(self.env, tx)
        self.assertTrue(result.succeeded)
        self.assertEqual(result.receipt.tx_type, 0x7E)
        self.assertEqual(result.fee, 0)
        self.assertEqual(self.balance(BOOTLOADER_FORMAL_ADDRESS), 0)


class FlatStateTests(SynchronousTestCase):
    """The same rules on the ZKsync OS flat state the sequencer uses."""

    def test_deposit_and_revert_on_flat_state(self):
        """A deposit then a reverting call: balances, fee account and the block's writes."""
        from zkos_tw.state.view import FlatState
        from zkos_tw.testing.memory_flat_state import MemoryFlatState, MemoryPreimages

        state = FlatState(MemoryFlatState().at(0), MemoryPreimages())
        env = block_env(state)
        state.set_code(CONTRACT, push(0) + push(0) + bytes([0xFD]))
        deposit = l1_tx(value=7 * 10**18, max_fee=5)
        first = apply_l1_transaction(env, deposit)
        failing = l1_tx(to=CONTRACT, value=3, max_fee=5, nonce=1)
        second = apply_l1_transaction(env, failing, first.cumulative_gas_used, 1)
        self.assertTrue(first.succeeded)
        self.assertFalse(second.succeeded)
        self.assertEqual(state.get_balance(OTHER), 7 * 10**18)
        self.assertEqual(state.get_balance(CONTRACT), 0)
        self.assertEqual(state.get_balance(BOOTLOADER_FORMAL_ADDRESS), first.fee + second.fee)
        self.assertEqual(
            state.get_balance(REFUND),
            deposit.to_mint - 7 * 10**18 - first.fee + failing.to_mint - second.fee,
        )
        self.assertEqual(second.l2_to_l1_log.tx_number_in_block, 1)
        self.assertTrue(state.finish_block().storage_writes)
