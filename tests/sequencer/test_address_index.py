"""The address index a sealed block writes with itself: who appears in each transaction."""

from __future__ import annotations

import os

from eth_account import Account
from eth_utils import to_checksum_address
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT
from tests.sequencer.test_blocks import KEY, RICH, context
from tests.tracing import programs
from tests.tracing.programs import LOGGER, NOPE, SHA256, init_code, root
from zkos_tw.chain import open_chain
from zkos_tw.config import load_config
from zkos_tw.execution.interpreter import create_address
from zkos_tw.execution.processing import apply_transaction
from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.sequencer.builder import BlockBuilder
from zkos_tw.sequencer.sink import BlockSink, address_index
from zkos_tw.state.view import FlatState
from zkos_tw.storage import (
    ROLE_CALLED,
    ROLE_CREATED,
    ROLE_LOG,
    ROLE_SENDER,
    ROLE_TO,
    ContractCreation,
)


def signed(nonce: int, to: bytes | None, data: bytes = b"", gas: int = 500_000):
    fields = {"value": 0, "gas": gas, "nonce": nonce, "chainId": 270, "data": data,
              "maxFeePerGas": 2000, "maxPriorityFeePerGas": 0}  # fmt: skip
    if to is not None:
        fields["to"] = to_checksum_address(to)
    raw = bytes(Account.sign_transaction(fields, KEY).raw_transaction)
    tx = decode_transaction(raw)
    return raw, tx, recover_sender(tx)


class AddressIndexTests(SynchronousTestCase):
    """``address_index`` over a real block: deployments, a call tree, a failed call."""

    def setUp(self):
        config = load_config(
            {
                "general_rocks_db_path": os.path.abspath(self.mktemp()),
                "genesis_genesis_input_path": os.path.join(REPO_ROOT, "genesis.json"),
            }
        )
        self.chain = open_chain(config)
        self.addCleanup(self.chain.close)
        state = FlatState(self.chain.storage.state_at(0), self.chain.storage.preimage_store())
        state.set_balance(RICH, 10**21)
        self.logger = create_address(RICH, 0)
        self.nope = create_address(RICH, 1)
        self.root = create_address(RICH, 2)
        builder = BlockBuilder(context(parent=self.chain.genesis.block_hash), state,
                               max_transactions=10)  # fmt: skip
        for raw, tx, sender in (
            signed(0, None, init_code(LOGGER)),
            signed(1, None, init_code(NOPE)),
            signed(2, None, init_code(root(self.logger, self.nope))),
            signed(3, self.root),
            signed(4, self.nope, b"\x01\x02\x03\x04"),
        ):
            builder.add(raw, tx, sender)
        self.block = builder.seal("timeout")
        BlockSink(self.chain.storage, self.chain.tree).persist(self.block, previous_timestamp=0)

    def test_roles(self):
        """Sender, recipient, created contract, log emitters and every callee are named, the
        callee of a reverted frame too."""
        entries = address_index(self.block)
        self.assertEqual([e.tx_index for e in entries], [0, 1, 2, 3, 4])
        self.assertEqual(
            dict(entries[0].appearances), {RICH: ROLE_SENDER, self.logger: ROLE_CREATED}
        )
        self.assertEqual(entries[0].creations, ((self.logger, RICH),))
        self.assertEqual(entries[0].sender_nonce, (RICH, 0))
        call = dict(entries[3].appearances)
        self.assertEqual(
            call,
            {
                RICH: ROLE_SENDER,
                self.root: ROLE_TO | ROLE_LOG | ROLE_CALLED,
                self.logger: ROLE_LOG | ROLE_CALLED,
                SHA256: ROLE_CALLED,
                self.nope: ROLE_CALLED,  # its STATICCALL reverted, but was made
            },
        )
        self.assertEqual(dict(entries[4].appearances), {RICH: ROLE_SENDER, self.nope: ROLE_TO})

    def test_stored_with_the_block(self):
        """The index is in storage after the block's write: history, nonces, creators."""
        storage = self.chain.storage
        hashes = [t.tx_hash for t in self.block.transactions]
        found, ends = storage.address_history(self.logger, None, descending=True, min_count=1)
        self.assertEqual([(a.block_number, a.tx_index) for a in found], [(1, 3), (1, 0)])
        self.assertTrue(ends)
        self.assertEqual(storage.tx_by_sender_and_nonce(RICH, 3), hashes[3])
        self.assertEqual(storage.contract_creation(self.root), ContractCreation(hashes[2], RICH))


class ReachedOnBothLoopsTests(SynchronousTestCase):
    """``Receipt.touched`` (what the index calls "called") is the same on the pure and the
    compiled interpreter loop."""

    def test_root_call(self):
        """The root's call tree: the logger, the reverted STATICCALL's target, SHA256, and the
        root itself; not the sender, the coinbase or the other precompiles."""
        found = {}
        for engine in programs.engines_available():
            tx, sender = programs.signed(programs.CONTRACT)
            receipt = apply_transaction(programs.environment(engine), tx, sender)
            self.assertTrue(receipt.succeeded)
            found[engine] = set(receipt.touched)
        expected = {programs.CONTRACT, programs.OTHER, programs.REVERTER, SHA256}
        for engine, touched in found.items():
            self.assertEqual(touched, expected, engine)

    def test_failed_transaction(self):
        """A reverted transaction still names the calls it made (as a trace-based index
        does)."""
        for engine in programs.engines_available():
            state = programs.pre_state()
            reverting = programs.call(programs.OTHER) + bytes([0x60, 0, 0x60, 0, 0xFD])
            state.set_account(programs.CONTRACT, code=reverting)
            tx, sender = programs.signed(programs.CONTRACT)
            receipt = apply_transaction(programs.environment(engine, state), tx, sender)
            self.assertFalse(receipt.succeeded)
            self.assertEqual(set(receipt.touched), {programs.OTHER}, engine)
