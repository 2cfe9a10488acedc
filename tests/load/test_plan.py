"""The funding plan and the pre-signed batches of a load run."""

import json

from twisted.trial.unittest import TestCase

from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.load import token
from zkos_tw.load.plan import (
    TRANSFER_GAS,
    Fees,
    Funding,
    LoadPlan,
    fees_for,
    make_batches,
    sender_cost,
    split_counts,
)
from zkos_tw.load.runner import RICH_KEY
from zkos_tw.load.signing import Signer, create_address, derive_signers

RICH = Signer.from_hex(RICH_KEY)
FEES = Fees(max_fee=2000, max_priority_fee=0)


def decode(signed):
    return decode_transaction(bytes.fromhex(signed.raw_hex[2:]))


class SplitTests(TestCase):
    def test_round_robin_counts(self):
        self.assertEqual(split_counts(10, 4), [3, 3, 2, 2])
        self.assertEqual(split_counts(3, 3), [1, 1, 1])
        self.assertEqual(sum(split_counts(1001, 7)), 1001)

    def test_no_senders(self):
        self.assertRaises(ValueError, split_counts, 1, 0)

    def test_fees_for(self):
        self.assertEqual(fees_for(1000, 5), Fees(max_fee=2005, max_priority_fee=5))


class FundingTests(TestCase):
    def test_transfer_funding(self):
        """One transfer per sender from the rich key, consecutive nonces, cost +10 %."""
        senders = derive_signers(b"x", 3)
        counts = [4, 3, 3]
        funding = Funding(RICH, 9, senders, counts, "transfer", FEES, 270)
        txs = [decode(t) for t in funding.transactions]
        self.assertEqual([t.nonce for t in txs], [9, 10, 11])
        self.assertEqual([t.to for t in txs], [s.address_bytes for s in senders])
        for tx, count in zip(txs, counts, strict=True):
            self.assertEqual(recover_sender(tx), RICH.address_bytes)
            self.assertEqual(tx.chain_id, 270)
            need = count * (TRANSFER_GAS * FEES.max_fee + 1)
            self.assertEqual(need, sender_cost(count, "transfer", FEES))
            self.assertGreaterEqual(tx.value, need)
            self.assertLess(tx.value, need * 12 // 10)
        self.assertEqual(
            funding.total_cost, sum(t.value for t in txs) + 3 * TRANSFER_GAS * FEES.max_fee
        )
        self.assertIsNone(funding.token_address)

    def test_erc20_funding(self):
        """Deploy at the rich nonce, ETH per sender, then tokens per sender."""
        senders = derive_signers(b"y", 2)
        funding = Funding(RICH, 4, senders, [5, 5], "erc20", FEES, 270)
        txs = [decode(t) for t in funding.transactions]
        self.assertEqual([t.nonce for t in txs], [4, 5, 6, 7, 8])
        self.assertEqual(funding.token_address, create_address(RICH.address_bytes, 4))
        self.assertIsNone(txs[0].to)
        self.assertEqual(txs[0].data[-32:], (2 * 10**24).to_bytes(32, "big"))
        self.assertEqual([t.to for t in txs[1:3]], [s.address_bytes for s in senders])
        for tx, sender in zip(txs[3:], senders, strict=True):
            self.assertEqual(tx.to, funding.token_address)
            self.assertEqual(tx.data, token.transfer_data(sender.address_bytes, 10**24))
        # token transfers pay gas only: 5 x 60,000 x fee cap, +10 %
        self.assertGreaterEqual(txs[1].value, 5 * token.TRANSFER_GAS * FEES.max_fee)

    def test_unknown_kind(self):
        self.assertRaises(ValueError, Funding, RICH, 0, [], [], "swap", FEES, 270)


class LoadPlanTests(TestCase):
    def test_round_robin_nonces(self):
        """Transaction i is sender i mod N's next nonce, starting at its current nonce."""
        senders = derive_signers(b"z", 3)
        plan = LoadPlan(senders, [0, 5, 2], 7, "transfer", FEES, 270, b"seed")
        txs = [decode(t) for t in plan.transactions]
        self.assertEqual(
            [(senders.index(next(s for s in senders if s.address_bytes == recover_sender(t))), t.nonce) for t in txs],
            [(0, 0), (1, 5), (2, 2), (0, 1), (1, 6), (2, 3), (0, 2)],
        )  # fmt: skip
        self.assertEqual(len({t.to for t in txs}), 7)  # a fresh recipient each
        self.assertTrue(all(t.value == 1 and t.gas == TRANSFER_GAS for t in txs))

    def test_erc20_calls(self):
        senders = derive_signers(b"w", 2)
        plan = LoadPlan(senders, [0, 0], 3, "erc20", FEES, 270, b"s", token_address=b"\x77" * 20)
        txs = [decode(t) for t in plan.transactions]
        self.assertTrue(all(t.to == b"\x77" * 20 and t.value == 0 for t in txs))
        self.assertTrue(all(t.data[:4] == token.TRANSFER_SELECTOR for t in txs))
        self.assertTrue(all(t.gas == token.TRANSFER_GAS for t in txs))

    def test_mixed_alternates_transfers_and_token_calls(self):
        """``mixed``: even transactions move ETH, odd ones call the token's transfer."""
        senders = derive_signers(b"m", 2)
        plan = LoadPlan(senders, [0, 0], 4, "mixed", FEES, 270, b"s", token_address=b"\x77" * 20)
        txs = [decode(t) for t in plan.transactions]
        self.assertEqual([t.value for t in txs], [1, 0, 1, 0])
        self.assertEqual([t.to == b"\x77" * 20 for t in txs], [False, True, False, True])
        self.assertEqual([t.data[:4] for t in txs[1::2]], [token.TRANSFER_SELECTOR] * 2)

    def test_mixed_needs_token(self):
        self.assertRaises(
            ValueError, LoadPlan, derive_signers(b"v", 1), [0], 1, "mixed", FEES, 270, b""
        )

    def test_erc20_needs_token(self):
        self.assertRaises(
            ValueError, LoadPlan, derive_signers(b"v", 1), [0], 1, "erc20", FEES, 270, b""
        )


class BatchTests(TestCase):
    def test_batches(self):
        """Bodies of at most batch_size requests, ids 1..n, the raw transactions in order."""
        senders = derive_signers(b"b", 2)
        plan = LoadPlan(senders, [0, 0], 7, "transfer", FEES, 270, b"s")
        batches = make_batches(plan.transactions, 3)
        self.assertEqual([len(b.tx_hashes) for b in batches], [3, 3, 1])
        first = json.loads(batches[0].body)
        self.assertEqual([r["id"] for r in first], [1, 2, 3])
        self.assertEqual({r["method"] for r in first}, {"eth_sendRawTransaction"})
        self.assertEqual(
            [r["params"][0] for r in first], [t.raw_hex for t in plan.transactions[:3]]
        )
        self.assertEqual(
            [h for b in batches for h in b.tx_hashes], [t.tx_hash for t in plan.transactions]
        )

    def test_batch_size_at_least_one(self):
        self.assertRaises(ValueError, make_batches, [], 0)
