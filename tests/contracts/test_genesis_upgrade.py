"""The genesis upgrade: the L1 chain contract's GenesisUpgrade event (§7.6) and what its 0x7e
transaction does on L2 (``contracts/l2/L2GenesisUpgrade.sol`` at 0x…10001 in genesis.json).

The L2 side runs the genesis runtime code on a second anvil with chain id 270, sending the exact
calldata of the event's transaction from the force deployer 0x8007 (impersonated).
"""

from __future__ import annotations

import atexit
import json
import os
import time

from eth_abi import decode, encode

from tests.contracts.harness import L1ContractsTestCase
from tests.fixtures import REPO_ROOT
from tests.integration.node_process import require_anvil
from zkos_tw.hashing import keccak256
from zkos_tw.l1.deploy import PROTOCOL_VERSION, AnvilProcess, RpcError, free_port

GENESIS_UPGRADE = "0xc5902263211386c797097c5eef7ce20567f0e13359623233314cfa01a55341da"
L2_TX = (
    "(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,"
    "uint256[4],bytes,bytes,uint256[],bytes,bytes)"
)
FORCE_DEPLOYER = "0x0000000000000000000000000000000000008007"
GENESIS_UPGRADE_ADDRESS = "0x0000000000000000000000000000000000010001"
SIGNATURE = "genesisUpgrade(uint256,uint256,uint256,address,address)"


def genesis_code(address: str) -> str:
    with open(os.path.join(REPO_ROOT, "genesis.json")) as f:
        contracts = dict(json.load(f)["initial_contracts"])
    return contracts[address]


def genesis_upgrade_log(test: L1ContractsTestCase) -> dict:
    """The one GenesisUpgrade log of the chain contract."""
    logs = test.rpc.call(
        "eth_getLogs",
        {
            "fromBlock": "0x0",
            "toBlock": "latest",
            "address": test.chain,
            "topics": [GENESIS_UPGRADE],
        },
    )
    test.assertEqual(len(logs), 1, "exactly one GenesisUpgrade log")
    return logs[0]


class GenesisUpgradeEventTests(L1ContractsTestCase):
    """The event the node turns into the first transaction of block 1."""

    def test_event(self):
        """Indexed chain and protocol version; a 0x7e tx from 0x8007 to 0x10001 whose hash is the
        pending upgrade hash that batch 1's commitment must carry."""
        log = genesis_upgrade_log(self)
        self.assertEqual(
            log["topics"][1], "0x" + bytes.fromhex(self.chain[2:]).rjust(32, b"\0").hex()
        )
        self.assertEqual(int(log["topics"][2], 16), PROTOCOL_VERSION)
        tx, deps = decode([L2_TX, "bytes[]"], bytes.fromhex(log["data"][2:]))
        self.assertEqual(deps, ())
        self.assertEqual(tx[0], 0x7E)
        self.assertEqual(tx[1], 0x8007)
        self.assertEqual(tx[2], 0x10001)
        self.assertEqual((tx[3], tx[4], tx[5], tx[6], tx[7]), (72_000_000, 800, 0, 0, 0))
        self.assertEqual(tx[8], PROTOCOL_VERSION)
        self.assertEqual((tx[9], list(tx[10])), (0, [0, 0, 0, 0]))
        self.assertEqual(keccak256(encode([L2_TX], [tx])), self.upgrade_hash)
        self.assertEqual(self.chain_view("getL2SystemContractsUpgradeTxHash"), self.upgrade_hash)
        data = tx[11]
        self.assertEqual(data[:4], keccak256(SIGNATURE.encode())[:4])
        args = decode(["uint256", "uint256", "uint256", "address", "address"], data[4:])
        self.assertEqual(args[:3], (270, 31337, PROTOCOL_VERSION))
        self.assertEqual(args[3].lower(), self.addresses.bridgehub.lower())
        self.assertEqual(args[4].lower(), self.chain.lower())


class _L2Anvil:
    """A second anvil standing in for the L2 (chain id 270)."""

    instance = None

    @classmethod
    def get(cls) -> AnvilProcess:
        if cls.instance is None:
            anvil = AnvilProcess(
                require_anvil(), free_port(), extra_args=("--chain-id", "270", "--silent")
            )
            anvil.ready()
            atexit.register(anvil.stop)
            cls.instance = anvil
        return cls.instance


class L2GenesisUpgradeTests(L1ContractsTestCase):
    """genesisUpgrade on L2: once, only from 0x8007, only on the chain L1 registered."""

    def setUp(self):
        super().setUp()
        self.l2 = _L2Anvil.get().rpc
        snapshot = self.l2.call("evm_snapshot")
        self.addCleanup(self.l2.call, "evm_revert", snapshot)
        self.l2.call(
            "anvil_setCode", GENESIS_UPGRADE_ADDRESS, genesis_code(GENESIS_UPGRADE_ADDRESS)
        )
        self.l2.call("anvil_impersonateAccount", FORCE_DEPLOYER)
        self.l2.call("anvil_setBalance", FORCE_DEPLOYER, hex(10**18))
        log = genesis_upgrade_log(self)
        self.calldata = decode([L2_TX, "bytes[]"], bytes.fromhex(log["data"][2:]))[0][11]

    def send(self, sender: str, data: bytes) -> dict:
        tx_hash = self.l2.call(
            "eth_sendTransaction",
            {
                "from": sender,
                "to": GENESIS_UPGRADE_ADDRESS,
                "data": "0x" + data.hex(),
                "gas": hex(1_000_000),
            },
        )
        for _ in range(200):
            receipt = self.l2.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return receipt
            time.sleep(0.02)
        self.fail(f"no receipt for {tx_hash}")

    def read(self, name: str, kind: str = "uint256"):
        selector = keccak256(f"{name}()".encode())[:4]
        result = self.l2.call(
            "eth_call", {"to": GENESIS_UPGRADE_ADDRESS, "data": "0x" + selector.hex()}, "latest"
        )
        return decode([kind], bytes.fromhex(result[2:]))[0]

    def revert_reason(self, sender: str, data: bytes) -> str:
        try:
            self.l2.call(
                "eth_call",
                {"from": sender, "to": GENESIS_UPGRADE_ADDRESS, "data": "0x" + data.hex()},
                "latest",
            )
        except RpcError as e:
            return e.data[:4].hex()
        self.fail("genesisUpgrade did not revert")

    def test_upgrade_records_the_chain(self):
        """The event's transaction sets the chain's identity, readable afterwards."""
        self.assertEqual(self.read("upgradedAtBlock"), 0)
        receipt = self.send(FORCE_DEPLOYER, self.calldata)
        self.assertEqual(receipt["status"], "0x1")
        self.assertEqual(len(receipt["logs"]), 1)
        self.assertEqual(self.read("chainId"), 270)
        self.assertEqual(self.read("l1ChainId"), 31337)
        self.assertEqual(self.read("protocolVersion"), PROTOCOL_VERSION)
        self.assertEqual(
            self.read("l1Bridgehub", "address").lower(), self.addresses.bridgehub.lower()
        )
        self.assertEqual(self.read("l1ChainContract", "address").lower(), self.chain.lower())
        self.assertEqual(self.read("upgradedAtBlock"), int(receipt["blockNumber"], 16))

    def test_only_once(self):
        receipt = self.send(FORCE_DEPLOYER, self.calldata)
        self.assertEqual(receipt["status"], "0x1", receipt)
        selector = keccak256(b"AlreadyUpgraded(uint256)")[:4].hex()
        self.assertEqual(self.revert_reason(FORCE_DEPLOYER, self.calldata), selector)

    def test_only_the_force_deployer(self):
        selector = keccak256(b"OnlyForceDeployer(address)")[:4].hex()
        self.assertEqual(self.revert_reason("0x" + "12" * 20, self.calldata), selector)

    def test_only_on_the_registered_chain(self):
        """On a chain whose id is not the one in the transaction (here the L1, 31337) it reverts."""
        self.rpc.call(
            "anvil_setCode", GENESIS_UPGRADE_ADDRESS, genesis_code(GENESIS_UPGRADE_ADDRESS)
        )
        try:
            self.rpc.call(
                "eth_call",
                {
                    "from": FORCE_DEPLOYER,
                    "to": GENESIS_UPGRADE_ADDRESS,
                    "data": "0x" + self.calldata.hex(),
                },
                "latest",
            )
        except RpcError as e:
            self.assertEqual(e.data[:4], keccak256(b"WrongChainId(uint256,uint256)")[:4])
            self.assertEqual(decode(["uint256", "uint256"], e.data[4:]), (31337, 270))
            return
        self.fail("genesisUpgrade ran on the wrong chain")
