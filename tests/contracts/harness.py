"""A real anvil with our L1 deployed, shared by a test class, reset to a snapshot for each test.

The first test starts anvil (from .tools) for the whole process and runs the same
``deploy_ecosystem`` as ``zkosctl l1 build-state``; ``setUp`` takes an ``evm_snapshot`` and
``tearDown`` reverts to it, so every test starts from the freshly deployed chain with its one
deposit (priority id 0) and its pending genesis upgrade.
"""

from __future__ import annotations

import atexit
import os

from eth_account import Account
from twisted.trial.unittest import TestCase

from tests.contracts import model
from tests.fixtures import REPO_ROOT
from tests.integration.node_process import require_anvil
from zkos_tw.config import L1SenderConfig
from zkos_tw.genesis import load_genesis
from zkos_tw.l1.artifacts import encode_call
from zkos_tw.l1.deploy import (
    RICH_KEY,
    AnvilProcess,
    RpcError,
    Sender,
    deploy_ecosystem,
    eth_call,
    free_port,
    load_artifacts,
    request_deposit,
)

#: The committed artifacts of this checkout (tox runs the installed package, not the tree).
ARTIFACTS = os.path.join(REPO_ROOT, "contracts", "l1", "build")
GENESIS_ROOT = load_genesis(os.path.join(REPO_ROOT, "genesis.json")).genesis_root
STRANGER_KEY = "0x" + "42" * 32


class _SharedL1:
    """One anvil with our L1 deployed for the whole test process (stopped at exit; the child
    wrapper also stops it if the process is killed)."""

    instance: _SharedL1 | None = None

    def __init__(self):
        self.anvil = AnvilProcess(require_anvil(), free_port(), extra_args=("--silent",))
        try:
            self.anvil.ready()
            self.rpc = self.anvil.rpc
            self.arts = load_artifacts(ARTIFACTS)
            self.deployment = deploy_ecosystem(
                self.rpc, GENESIS_ROOT, log=lambda line: None, artifacts_dir=ARTIFACTS
            )
        except BaseException:
            self.anvil.stop()
            raise
        atexit.register(self.anvil.stop)

    @classmethod
    def get(cls) -> _SharedL1:
        if cls.instance is None:
            cls.instance = cls()
        return cls.instance


class L1ContractsTestCase(TestCase):
    """Base class: ``self.rpc``, ``self.deployment``, ``self.arts``, senders for each operator."""

    def setUp(self):
        shared = _SharedL1.get()
        self.rpc, self.arts, self.deployment = shared.rpc, shared.arts, shared.deployment
        self.snapshot = self.rpc.call("evm_snapshot")
        self.addCleanup(self.rpc.call, "evm_revert", self.snapshot)
        abis = [a.abi for a in self.arts.values()]
        keys = L1SenderConfig()
        self.rich = Sender(self.rpc, RICH_KEY, abis)
        self.committer = Sender(self.rpc, keys.operator_commit_pk, abis)
        self.prover = Sender(self.rpc, keys.operator_prove_pk, abis)
        self.executor = Sender(self.rpc, keys.operator_execute_pk, abis)
        stranger = Account.from_key(STRANGER_KEY).address
        self.rpc.call("anvil_setBalance", stranger, hex(10**21))
        self.stranger = Sender(self.rpc, STRANGER_KEY, abis)
        self.addresses = self.deployment.addresses
        self.chain = self.addresses.zk_chain
        self.timelock = self.addresses.validator_timelock
        self.chain_id = self.deployment.l2_chain_id
        self.genesis = model.genesis_batch(GENESIS_ROOT)
        self.upgrade_hash = bytes.fromhex(self.deployment.genesis_upgrade_tx_hash[2:])
        self.l1_hashes = [bytes.fromhex(self.deployment.deposit.l2_tx_hash[2:])]

    # ------------------------------------------------------------ helpers

    def chain_view(self, name: str, *args):
        return eth_call(self.rpc, self.arts["ZKChain"], self.chain, name, *args)

    def bridgehub_view(self, name: str, *args):
        return eth_call(self.rpc, self.arts["Bridgehub"], self.addresses.bridgehub, name, *args)

    def timelock_data(self, function: str, from_: int, to: int, data: bytes) -> bytes:
        return encode_call(
            self.arts["ValidatorTimelock"].abi, function, self.chain, from_, to, data
        )

    def assertReverts(
        self, sender: Sender, to: str, data: bytes, error: str, value: int = 0, gas_price=None
    ):
        """``eth_call`` from ``sender`` reverts with custom error ``error`` (name or prefix)."""
        call = {"from": sender.address, "to": to, "data": "0x" + data.hex()}
        if value:
            call["value"] = hex(value)
        if gas_price is not None:
            call["gasPrice"] = hex(gas_price)
        try:
            self.rpc.call("eth_call", call, "latest")
        except RpcError as e:
            reason = sender.reason(e)
            self.assertTrue(reason.startswith(error), f"expected {error}, reverted with {reason}")
            return reason
        self.fail(f"call did not revert (expected {error})")

    def deposit(self, amount: int = 10**18) -> bytes:
        """A further deposit from the rich account; its L2 tx hash."""
        deposit = request_deposit(
            self.rpc,
            self.rich,
            self.arts["Bridgehub"],
            self.addresses.bridgehub,
            self.chain_id,
            self.rich.address,
            amount,
        )
        h = bytes.fromhex(deposit.l2_tx_hash[2:])
        self.l1_hashes.append(h)
        return h

    def batch(self, number: int, l1_hashes, **changes) -> model.CommitBatch:
        """A well-formed batch ``number`` over ``l1_hashes``; batch 1 carries the upgrade."""
        base = model.CommitBatch(
            number=number,
            state_commitment=bytes([number]) * 32,
            l1_tx_hashes=tuple(l1_hashes),
            chain_id=self.chain_id,
            first_ts=1_800_000_000 + 10 * number,
            last_ts=1_800_000_005 + 10 * number,
            pubdata=b"pubdata of batch %d" % number,
            upgrade_tx_hash=self.upgrade_hash if number == 1 else b"\0" * 32,
        )
        return base.with_(**changes)

    def commit(self, previous: model.StoredBatch, batch: model.CommitBatch):
        data = model.commit_data(previous, [batch])
        return self.committer.send(
            f"commit {batch.number}",
            self.timelock,
            self.timelock_data("commitBatchesSharedBridge", batch.number, batch.number, data),
        )

    def prove(self, previous: model.StoredBatch, batches: list[model.StoredBatch]):
        proof = model.fake_proof(model.public_input(previous, batches))
        data = model.prove_data(previous, batches, proof)
        first, last = batches[0].number, batches[-1].number
        return self.prover.send(
            f"prove {first}-{last}",
            self.timelock,
            self.timelock_data("proveBatchesSharedBridge", first, last, data),
        )

    def execute(self, batches: list[model.StoredBatch], ops):
        data = model.execute_data(batches, ops)
        first, last = batches[0].number, batches[-1].number
        return self.executor.send(
            f"execute {first}-{last}",
            self.timelock,
            self.timelock_data("executeBatchesSharedBridge", first, last, data),
        )
