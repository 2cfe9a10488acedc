"""Plain transfers (to an account without code that is no precompile) take a short path in
``apply_transaction``; it must leave exactly what the general path leaves."""

from __future__ import annotations

from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import COINBASE, CONTRACT, block_env
from zkos_tw.execution.processing import apply_transaction
from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.testing import MemoryState

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
SENDER = bytes.fromhex("36615Cf349d7F6344891B1e7CA7C72883F5dc049")
EMPTY = bytes.fromhex("00000000000000000000000000000000000e3e3e")  # exists, all zero
RICH_EOA = bytes.fromhex("0000000000000000000000000000000000001234")
FRESH = bytes.fromhex("000000000000000000000000000000000000f4e5")  # does not exist
PRECOMPILE = (4).to_bytes(20, "big")

TARGETS = [EMPTY, RICH_EOA, FRESH, SENDER, COINBASE, PRECOMPILE, CONTRACT]


def pre_state() -> MemoryState:
    state = MemoryState()
    state.set_account(SENDER, balance=10**20)
    state.set_account(EMPTY)
    state.set_account(RICH_EOA, nonce=3, balance=5)
    state.set_account(CONTRACT, code=bytes([0x60, 0x01, 0x60, 0x00, 0x55]))  # SSTORE(0, 1)
    return state


def snapshot(state: MemoryState) -> dict:
    return {
        address: (nonce, balance, code, state.storage_items(address))
        for address, nonce, balance, code in state.accounts()
    }


def run(raw: bytes, fast: bool):
    state = pre_state()
    tx = decode_transaction(raw)
    receipt = apply_transaction(block_env(state), tx, recover_sender(tx), 1000, _fast=fast)
    return receipt, snapshot(state)


class TransferFastPathTests(SynchronousTestCase):
    @settings(max_examples=60)
    @given(
        to=st.sampled_from(TARGETS),
        value=st.sampled_from([0, 1, 10**18]),
        gas=st.sampled_from([21_000, 30_000, 100_000]),
        tip=st.sampled_from([0, 3]),
        data=st.sampled_from([b"", b"\x00\x01"]),
        access=st.booleans(),
    )
    def test_same_as_general_path(self, to, value, gas, tip, data, access):
        tx = {
            "to": to_checksum_address(to),
            "value": value,
            "gas": gas + 16 * len(data),
            "nonce": 0,
            "chainId": 1,
            "maxFeePerGas": 100,
            "maxPriorityFeePerGas": tip,
            "data": data,
        }
        if access:
            tx["accessList"] = [
                {"address": "0x" + RICH_EOA.hex(), "storageKeys": ["0x" + "00" * 32]}
            ]
            tx["gas"] += 2_400 + 1_900
        raw = bytes(Account.from_key(KEY).sign_transaction(tx).raw_transaction)
        fast, general = run(raw, True), run(raw, False)
        self.assertEqual(fast, general)

    def test_fresh_zero_value_target_is_not_created(self):
        raw = bytes(
            Account.from_key(KEY).sign_transaction(
                {"to": to_checksum_address(FRESH), "value": 0, "gas": 21_000, "nonce": 0, "chainId": 1,
                 "maxFeePerGas": 100, "maxPriorityFeePerGas": 0}
            ).raw_transaction
        )  # fmt: skip
        receipt, state = run(raw, True)
        self.assertTrue(receipt.succeeded)
        self.assertNotIn(FRESH, state)
