"""Transaction decoding, sender recovery, validation rules and processing with receipts."""

import rlp
from eth_account import Account
from eth_utils import to_checksum_address
from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import COINBASE, OTHER, block_env, push
from zkos_tw.execution.exceptions import InvalidTransaction, InvalidTransactionEncoding
from zkos_tw.execution.forks import LONDON
from zkos_tw.execution.interpreter import create_address
from zkos_tw.execution.processing import apply_raw_transaction
from zkos_tw.execution.transactions import (
    ACCESS_LIST,
    BLOB,
    FEE_MARKET,
    LEGACY,
    decode_transaction,
    intrinsic_gas,
    recover_sender,
)
from zkos_tw.testing import MemoryState

ACCOUNT = Account.from_key(b"\x11" * 32)
SENDER = bytes.fromhex(ACCOUNT.address[2:])
TO = to_checksum_address("0x" + OTHER.hex())


def sign(**fields) -> bytes:
    """Sign a transaction with the test key; defaults make a valid 0-value legacy call."""
    tx = {"nonce": 0, "gas": 100_000, "to": TO, "value": 0, "data": b"", "chainId": 1}
    if "maxFeePerGas" not in fields and fields.get("type") not in (2,):
        tx["gasPrice"] = 10
    tx.update(fields)
    return bytes(ACCOUNT.sign_transaction(tx).raw_transaction)


def funded_state(balance: int = 10**18, nonce: int = 0) -> MemoryState:
    """A state in which the test sender holds ``balance`` wei."""
    state = MemoryState()
    state.set_account(SENDER, balance=balance, nonce=nonce)
    return state


class DecodeTests(SynchronousTestCase):
    """Envelopes decode and the signer is recovered."""

    def test_legacy_eip155(self):
        """An EIP-155 legacy transaction carries the chain id and recovers its signer."""
        tx = decode_transaction(sign())
        self.assertEqual((tx.tx_type, tx.chain_id, tx.gas_price, tx.to), (LEGACY, 1, 10, OTHER))
        self.assertEqual(recover_sender(tx), SENDER)

    def test_legacy_pre_eip155(self):
        """A legacy transaction with v = 27/28 has no chain id and still recovers."""
        fields = [0, 10, 100_000, OTHER, 0, b""]
        from eth_account._utils.signing import sign_transaction_hash  # noqa: F401 (exists)
        from eth_keys import keys

        digest = __import__("zkos_tw.hashing", fromlist=["keccak256"]).keccak256(rlp.encode(fields))
        signature = keys.PrivateKey(b"\x11" * 32).sign_msg_hash(digest)
        raw = rlp.encode(fields + [27 + signature.v, signature.r, signature.s])
        tx = decode_transaction(raw)
        self.assertIsNone(tx.chain_id)
        self.assertEqual(recover_sender(tx), SENDER)

    def test_typed_envelopes(self):
        """0x01 and 0x02 decode with their access lists."""
        access_list = [{"address": TO, "storageKeys": ["0x" + "00" * 31 + "01"]}]
        tx1 = decode_transaction(sign(type=1, accessList=access_list))
        self.assertEqual(tx1.tx_type, ACCESS_LIST)
        self.assertEqual(tx1.access_list, ((OTHER, (1,)),))
        raw2 = sign(type=2, maxFeePerGas=20, maxPriorityFeePerGas=3, accessList=[])
        tx2 = decode_transaction(raw2)
        self.assertEqual(
            (tx2.tx_type, tx2.max_fee_per_gas, tx2.max_priority_fee_per_gas), (FEE_MARKET, 20, 3)
        )
        self.assertEqual(recover_sender(tx2), SENDER)

    def test_bad_encodings(self):
        """Unknown types, bad RLP, leading zeros and high s values are rejected with reasons."""
        with self.assertRaisesRegex(InvalidTransactionEncoding, "unsupported transaction type"):
            decode_transaction(b"\x05\xc0")
        with self.assertRaisesRegex(InvalidTransactionEncoding, "not valid RLP"):
            decode_transaction(b"\x02\xf8")
        fields = rlp.decode(sign())
        fields[0] = b"\x00\x01"
        with self.assertRaisesRegex(InvalidTransactionEncoding, "leading zero"):
            decode_transaction(rlp.encode(fields))
        fields = rlp.decode(sign())
        fields[8] = (2**256 - 1).to_bytes(32, "big")
        with self.assertRaisesRegex(InvalidTransactionEncoding, "s out of range"):
            recover_sender(decode_transaction(rlp.encode(fields)))

    def test_blob_transaction_cannot_create(self):
        """A type-3 transaction must have a 20-byte destination."""
        body = [1, 0, 1, 10, 21000, b"", 0, b"", [], 1, [b"\x01" * 32], 0, 1, 1]
        with self.assertRaisesRegex(InvalidTransactionEncoding, "field to"):
            decode_transaction(bytes([BLOB]) + rlp.encode(body))

    def test_intrinsic_gas(self):
        """21000 + 4/16 per data byte + create 32000 + 2 per initcode word + access lists."""
        tx = decode_transaction(sign(to=b"", data=b"\x00\x01" * 20))
        self.assertEqual(intrinsic_gas(tx, block_env(None).fork), 21000 + 32000 + 20 * 20 + 2 * 2)
        self.assertEqual(intrinsic_gas(tx, LONDON), 21000 + 32000 + 20 * 20)


class ValidationTests(SynchronousTestCase):
    """Each validity rule raises ``InvalidTransaction`` naming it; the state is untouched."""

    def assertRejected(self, raw: bytes, rule: str, state=None, **env):
        """Applying ``raw`` fails with ``rule`` in the message and changes nothing."""
        state = state or funded_state()
        before = list(state.accounts())
        with self.assertRaisesRegex(InvalidTransaction, rule):
            apply_raw_transaction(block_env(state, **env), raw)
        self.assertEqual(list(state.accounts()), before)

    def test_nonce(self):
        """Nonce too low and too high."""
        self.assertRejected(sign(nonce=0), "nonce too low", funded_state(nonce=1))
        self.assertRejected(sign(nonce=2), "nonce too high", funded_state(nonce=1))

    def test_balance(self):
        """The sender must afford gas * price + value up front."""
        self.assertRejected(sign(value=10), "insufficient funds", funded_state(balance=1_000_000))

    def test_intrinsic_gas(self):
        """Gas below the intrinsic cost."""
        self.assertRejected(sign(gas=20_000), "intrinsic gas too low")

    def test_block_gas_limit(self):
        """Gas above what is left in the block."""
        self.assertRejected(sign(gas=100_000), "gas limit exceeds block", gas_limit=50_000)

    def test_fee_caps(self):
        """Max fee below the base fee, priority fee above the max fee, gas price below base fee."""
        self.assertRejected(sign(type=2, maxFeePerGas=5, maxPriorityFeePerGas=1), "below base fee")
        self.assertRejected(
            sign(type=2, maxFeePerGas=20, maxPriorityFeePerGas=30), "priority fee greater"
        )
        self.assertRejected(sign(gasPrice=6), "gas price below base fee")

    def test_sender_with_code(self):
        """EIP-3607: a sender with code cannot send transactions."""
        state = funded_state()
        state.set_account(SENDER, balance=10**18, code=b"\x00")
        self.assertRejected(sign(), "sender not an EOA", state)

    def test_initcode_size(self):
        """EIP-3860: create transactions carry at most 49152 bytes of initcode."""
        self.assertRejected(sign(to=b"", data=b"\x01" * 49153, gas=5_000_000), "initcode size")

    def test_chain_id(self):
        """A transaction for another chain is rejected."""
        self.assertRejected(sign(chainId=5), "wrong chain id")


class ProcessingTests(SynchronousTestCase):
    """Gas purchase, refunds, coinbase payment, receipts."""

    def test_value_transfer_receipt_and_fees(self):
        """A plain transfer uses 21000 gas; the coinbase gets only the priority fee."""
        state = funded_state()
        raw = sign(type=2, maxFeePerGas=20, maxPriorityFeePerGas=3, value=1000)
        receipt = apply_raw_transaction(block_env(state), raw, cumulative_gas_used=5)
        self.assertTrue(receipt.succeeded)
        self.assertEqual((receipt.gas_used, receipt.cumulative_gas_used), (21000, 21005))
        self.assertEqual(state.get_balance(OTHER), 1000)
        self.assertEqual(state.get_balance(COINBASE), 21000 * 3)
        self.assertEqual(state.get_balance(SENDER), 10**18 - 1000 - 21000 * (7 + 3))
        self.assertEqual(state.get_nonce(SENDER), 1)
        self.assertEqual(receipt.bloom, bytes(256))

    def test_create_transaction_and_logs(self):
        """A create transaction deploys code and its logs reach the receipt and bloom."""
        state = funded_state()
        runtime = b"\x00"
        initcode = push(0) + push(0) + b"\xa0"  # LOG0 with no data
        initcode += push(runtime[0]) + push(0) + b"\x53" + push(1) + push(0) + b"\xf3"
        receipt = apply_raw_transaction(block_env(state), sign(to=b"", data=initcode, gas=200_000))
        address = create_address(SENDER, 0)
        self.assertTrue(receipt.succeeded)
        self.assertEqual(receipt.contract_address, address)
        self.assertEqual(state.get_code(address), runtime)
        self.assertEqual(len(receipt.logs), 1)
        self.assertNotEqual(receipt.bloom, bytes(256))

    def test_failed_execution_still_charges(self):
        """A reverting call fails (status 0), keeps the nonce bump and charges the gas used."""
        state = funded_state()
        state.set_account(OTHER, code=push(0) + push(0) + b"\xfd")
        receipt = apply_raw_transaction(block_env(state), sign())
        self.assertFalse(receipt.succeeded)
        self.assertEqual(receipt.error, "Revert")
        self.assertEqual(state.get_nonce(SENDER), 1)
        self.assertEqual(receipt.gas_used, 21000 + 6)

    def test_refund_capped_at_one_fifth(self):
        """Clearing a slot refunds 4800, capped at gas_used // 5 (EIP-3529)."""
        state = funded_state()
        state.set_account(OTHER, code=push(0) + push(1) + b"\x55", storage={1: 1})
        receipt = apply_raw_transaction(block_env(state), sign())
        used = 21000 + 3 + 3 + 5000
        self.assertEqual(receipt.gas_used, used - min(used // 5, 4800))
        self.assertEqual(state.get_storage(OTHER, 1), 0)
