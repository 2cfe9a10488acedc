"""Admission: every refusal of ``Mempool.add`` with the reference's exact message (§3.6)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.sequencer.mempool_helpers import (
    ADDRESSES,
    CHAIN_ID,
    FakeAccounts,
    fee_market_fields,
    make_pool,
    sign,
    sign_typed,
)
from zkos_tw.hashing import keccak256
from zkos_tw.interfaces import IAccountReader, IMempool
from zkos_tw.sequencer import mempool_errors as errors

TO = bytes.fromhex("ab" * 20)


class AdmissionTests(SynchronousTestCase):
    """``add`` accepts valid legacy, 0x01 and 0x02 transactions and names what is wrong with
    the others."""

    def setUp(self):
        self.pool, self.accounts = make_pool()

    def assert_refused(self, raw: bytes, error_class, message: str) -> None:
        """``add(raw)`` raises ``error_class`` with ``str() == "[0x<hash>]: " + message``."""
        error = self.assertRaises(error_class, self.pool.add, raw)
        self.assertEqual(str(error), f"[0x{keccak256(raw).hex()}]: {message}")
        self.assertEqual(error.tx_hash, keccak256(raw))
        self.assertIsNone(self.pool.get(keccak256(raw)))

    def test_interfaces(self):
        """The pool provides ``IMempool`` and the test reader ``IAccountReader``."""
        self.assertTrue(verifyObject(IMempool, self.pool))
        self.assertTrue(verifyObject(IAccountReader, FakeAccounts()))

    def test_accepts_each_user_type(self):
        """Legacy (EIP-155), 0x01 and 0x02 transactions go in and return their hash."""
        for nonce, tx_type in enumerate((0, 1, 2)):
            raw = sign(0, nonce, tx_type=tx_type)
            self.assertEqual(self.pool.add(raw), keccak256(raw))
        self.assertEqual(self.pool.pending_count(), 3)
        ptx = self.pool.get(keccak256(raw))
        self.assertEqual((ptx.sender, ptx.nonce, ptx.raw), (ADDRESSES[0], 2, raw))

    def test_accepts_pre_eip155_legacy(self):
        """A legacy transaction signed without a chain id is accepted (reth does not refuse it)."""
        raw = sign(1, 0, tx_type=0, chainId=None)
        self.pool.add(raw)
        self.assertIsNone(self.pool.get(keccak256(raw)).tx.chain_id)

    def test_undecodable(self):
        """Garbage, an empty string, and L1 (0x7f) / upgrade (0x7e) envelopes do not decode."""
        for raw in (b"", b"\x01\x02\x03", b"\x7f\xc0", b"\x7e\xc0", sign(0, 0)[:-1], b"\x05\xc0"):
            error = self.assertRaises(errors.TransactionDecodeError, self.pool.add, raw)
            self.assertEqual(str(error), "failed to decode signed transaction")

    def test_too_wide_fields_do_not_decode(self):
        """A nonce of 2**64 or a fee cap of 2**128 does not decode (alloy's u64 / u128 fields)."""
        wide_nonce = fee_market_fields(2**64)
        wide_fee = fee_market_fields(0, max_fee=2**128)
        for fields in (wide_nonce, wide_fee):
            error = self.assertRaises(
                errors.TransactionDecodeError, self.pool.add, sign_typed(2, fields)
            )
            self.assertEqual(str(error), "failed to decode signed transaction")

    def test_invalid_signature(self):
        """A high-s signature (EIP-2) does not recover a sender."""
        raw = sign_typed(2, fee_market_fields(), high_s=True)
        error = self.assertRaises(errors.InvalidSignature, self.pool.add, raw)
        self.assertEqual(str(error), "invalid transaction signature")

    def test_nonce_too_low(self):
        """A nonce below the account nonce is refused with both nonces."""
        self.accounts.nonces[ADDRESSES[0]] = 5
        self.assert_refused(
            sign(0, 3),
            errors.NonceTooLow,
            "transaction nonce is not consistent: next nonce 5, tx nonce 3",
        )

    def test_insufficient_funds(self):
        """``max_fee * gas + value`` above the balance is refused with both amounts."""
        self.accounts.balances[ADDRESSES[0]] = 1000
        self.assert_refused(
            sign(0, 0),
            errors.InsufficientFunds,
            "sender does not have enough funds (1000) to cover transaction fees: 42000001",
        )

    def test_exact_funds(self):
        """A balance of exactly ``max_fee * gas + value`` is enough."""
        self.accounts.balances[ADDRESSES[0]] = 2000 * 21_000 + 1
        self.pool.add(sign(0, 0))
        self.assertEqual(self.pool.pending_count(), 1)

    def test_intrinsic_gas_too_low(self):
        """A gas limit below 21,000 (plus calldata) is refused."""
        self.assert_refused(
            sign(0, 0, gas=20_999), errors.IntrinsicGasTooLow, "intrinsic gas too low"
        )
        self.assert_refused(
            sign(0, 0, gas=21_000, data=b"\x01"), errors.IntrinsicGasTooLow, "intrinsic gas too low"
        )

    def test_gas_limit_above_block(self):
        """A gas limit above the block gas limit is refused with both numbers."""
        self.assert_refused(
            sign(0, 0, gas=100_000_001),
            errors.ExceedsGasLimit,
            "transaction's gas limit 100000001 exceeds block's gas limit 100000000",
        )

    def test_fee_cap_below_minimum(self):
        """A fee cap under reth's minimal protocol base fee (7 wei) is refused; 7 is accepted."""
        self.assert_refused(
            sign(0, 0, maxFeePerGas=6, maxPriorityFeePerGas=0),
            errors.FeeCapBelowMinimum,
            "transaction feeCap 6 below chain minimum",
        )
        self.pool.add(sign(0, 0, maxFeePerGas=7, maxPriorityFeePerGas=0))

    def test_fee_cap_below_base_fee_is_accepted(self):
        """As in the reference, a fee cap under the 1000 wei base fee is accepted (it waits)."""
        self.pool.add(sign(0, 0, maxFeePerGas=999, maxPriorityFeePerGas=0))
        self.assertEqual(list(self.pool.best_transactions(1000)), [])

    def test_configured_fee_floor(self):
        """``min_fee_cap`` raises the floor (e.g. to the block base fee)."""
        pool, _ = make_pool(min_fee_cap=1000)
        error = self.assertRaises(
            errors.FeeCapBelowMinimum,
            pool.add,
            sign(0, 0, maxFeePerGas=999, maxPriorityFeePerGas=0),
        )
        self.assertIn("transaction feeCap 999 below chain minimum", str(error))

    def test_tip_above_fee_cap(self):
        """``maxPriorityFeePerGas > maxFeePerGas`` is refused."""
        self.assert_refused(
            sign(0, 0, maxFeePerGas=1000, maxPriorityFeePerGas=1001),
            errors.TipAboveFeeCap,
            "max priority fee per gas higher than max fee per gas",
        )

    def test_wrong_chain_id(self):
        """A transaction signed for another chain is refused, whatever its type."""
        for tx_type in (0, 1, 2):
            self.assert_refused(
                sign(0, 0, tx_type=tx_type, chainId=CHAIN_ID + 1),
                errors.ChainIdMismatch,
                "transaction's chain ID does not match",
            )

    def test_blob_transaction_not_supported(self):
        """A signed EIP-4844 transaction is refused by type."""
        fields = [CHAIN_ID, 0, 100, 2000, 21_000, TO, 1, b"", [], 1, [b"\x01" + bytes(31)]]
        self.assert_refused(
            sign_typed(3, fields), errors.TxTypeNotSupported, "transaction type not supported"
        )

    def test_set_code_transaction_not_supported(self):
        """A signed EIP-7702 transaction is refused by type; a badly signed one for its signature;
        a malformed one does not decode."""
        authorization = [CHAIN_ID, TO, 0, 0, 1, 1]
        fields = [CHAIN_ID, 0, 100, 2000, 60_000, TO, 0, b"", [], [authorization]]
        self.assert_refused(
            sign_typed(4, fields), errors.TxTypeNotSupported, "transaction type not supported"
        )
        self.assertRaises(
            errors.InvalidSignature, self.pool.add, sign_typed(4, fields, high_s=True)
        )
        self.assertRaises(errors.TransactionDecodeError, self.pool.add, sign_typed(4, fields[:-1]))

    def test_oversized(self):
        """A transaction larger than ``max_input_bytes`` is refused with its size."""
        pool, _ = make_pool(max_input_bytes=200)
        raw = sign(0, 0, data=bytes(200), gas=100_000)
        error = self.assertRaises(errors.OversizedData, pool.add, raw)
        self.assertEqual(
            str(error),
            f"[0x{keccak256(raw).hex()}]: oversized data: transaction size {len(raw)}, limit 200",
        )

    def test_init_code_too_large(self):
        """A creation with more than 49,152 bytes of init code is refused (EIP-3860)."""
        raw = sign(0, 0, to=None, data=b"\x01" * 49_153, gas=10_000_000)
        self.assert_refused(
            raw,
            errors.ExceedsMaxInitCodeSize,
            "transaction's input size 49153 exceeds max_init_code_size 49152",
        )

    def test_already_imported(self):
        """The same bytes twice: the second time is ``already imported``."""
        raw = sign(0, 0)
        self.pool.add(raw)
        self.assert_refused_in_pool(raw)

    def assert_refused_in_pool(self, raw: bytes) -> None:
        """``add(raw)`` raises ``AlreadyImported`` and the pool keeps the transaction."""
        error = self.assertRaises(errors.AlreadyImported, self.pool.add, raw)
        self.assertEqual(str(error), f"[0x{keccak256(raw).hex()}]: already imported")
        self.assertIsNotNone(self.pool.get(keccak256(raw)))

    def test_errors_are_pool_errors(self):
        """Every refusal is a ``PoolError`` (one ``except`` in the RPC backend)."""
        for name in dir(errors):
            value = getattr(errors, name)
            if isinstance(value, type) and issubclass(value, Exception):
                self.assertTrue(issubclass(value, errors.PoolError), name)


class InsertBatchTests(SynchronousTestCase):
    """``insert_batch`` admits like ``insert`` one by one, reading each account once and
    announcing the new pending transactions once."""

    def test_same_results_as_one_by_one(self):
        """Admitted, duplicate, nonce-too-low and gap-queued transactions: the same hashes and
        errors, the same pool afterwards."""
        raws = [sign(0, 0), sign(0, 1), sign(0, 1), sign(1, 3), sign(2, 0)]
        results = {}
        pools = {}
        for way in ("single", "batch"):
            accounts = FakeAccounts()
            accounts.nonces[ADDRESSES[2]] = 1
            pool, _ = make_pool(accounts)
            ptxs = [pool.prepare(raw) for raw in raws]
            if way == "batch":
                got = pool.insert_batch(ptxs)
            else:
                got = []
                for ptx in ptxs:
                    try:
                        got.append(pool.insert(ptx))
                    except errors.PoolError as e:
                        got.append(e)
            results[way] = [r if isinstance(r, bytes) else str(r) for r in got]
            pools[way] = (pool.pending_count(), pool.queued_count(), sorted(pool.senders()))
        self.assertEqual(results["batch"], results["single"])
        self.assertEqual(pools["batch"], pools["single"])
        self.assertEqual(results["batch"][:2], [keccak256(raws[0]), keccak256(raws[1])])
        self.assertIn("already imported", results["batch"][2])
        self.assertIn("nonce is not consistent", results["batch"][4])
        self.assertEqual(pools["batch"][:2], (2, 1))

    def test_one_read_and_one_announcement(self):
        """Three transactions of one sender: its account is read once, and a pending listener
        hears of all three after the call."""
        accounts = FakeAccounts()
        pool, _ = make_pool(accounts)
        reads = []
        nonce_of = accounts.nonce_of
        accounts.nonce_of = lambda address: reads.append(address) or nonce_of(address)
        heard = []
        pool.add_pending_listener(lambda ptx: heard.append((ptx.nonce, len(pool))))
        pool.insert_batch([pool.prepare(sign(0, n)) for n in range(3)])
        self.assertEqual(reads, [ADDRESSES[0]])
        self.assertEqual(heard, [(0, 3), (1, 3), (2, 3)])
