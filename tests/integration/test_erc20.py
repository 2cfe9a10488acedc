"""An ERC-20 (compiled with the solc from npm) on a real node, through web3.py: deploy,
transfer, ``Transfer`` events via ``eth_getLogs`` and via a log filter, gas estimation, and the
revert reason of a failing ``eth_call``."""

import os

from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from web3 import Web3
from web3.exceptions import ContractLogicError

from tests.integration.node_process import NodeProcess
from tests.integration.solc import compile_contract

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
BOB = "0x5A67EE02274D9Ec050d412b96fE810Be4D71e7A0"
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contracts", "TestToken.sol")


class Erc20Tests(TestCase):
    """web3.py against a twistd node whose rich account was funded by the L1 state's deposit."""

    timeout = 180

    async def test_erc20_lifecycle(self):
        """Deploy, transfer, read logs two ways, estimate gas, and get a revert reason."""
        abi, bytecode = compile_contract(SOURCE, "TestToken")
        node = NodeProcess(
            os.path.abspath(self.mktemp()),
        )
        self.addCleanup(node.cleanup)
        node.start()
        await node.wait_healthy()
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        account = Account.from_key(KEY)

        def send(tx):
            tx.setdefault("nonce", w3.eth.get_transaction_count(account.address))
            tx.setdefault("chainId", 270)
            tx.setdefault("maxFeePerGas", 2000)
            tx.setdefault("maxPriorityFeePerGas", 0)
            signed = account.sign_transaction(tx)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
            return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.1)

        def scenario():
            factory = w3.eth.contract(abi=abi, bytecode=bytecode)
            deploy = factory.constructor(10**24).build_transaction(
                {"from": account.address, "gas": 2_000_000}
            )
            deployed = send(deploy)
            token = w3.eth.contract(address=deployed.contractAddress, abi=abi)
            transfer_filter = token.events.Transfer.create_filter(from_block="latest")
            estimate = token.functions.transfer(BOB, 1234).estimate_gas({"from": account.address})
            transfer = token.functions.transfer(BOB, 1234).build_transaction(
                {"from": account.address, "gas": estimate}
            )
            transferred = send(transfer)
            logs = token.events.Transfer.get_logs(from_block=0, to_block="latest")
            filtered = transfer_filter.get_new_entries()
            try:
                token.functions.transfer(account.address, 1).call({"from": BOB, "gas": 100_000})
                token.functions.transfer(account.address, 10**30).call({"from": BOB})
                revert = None
            except ContractLogicError as e:
                revert = str(e)
            return (
                deployed,
                transferred,
                estimate,
                logs,
                filtered,
                revert,
                token.functions.balanceOf(BOB).call(),
                token.functions.name().call(),
            )

        deployed, transferred, estimate, logs, filtered, revert, bob, name = await deferToThread(
            scenario
        )
        self.assertEqual(deployed.status, 1)
        self.assertIsNotNone(deployed.contractAddress)
        self.assertEqual(transferred.status, 1)
        self.assertGreaterEqual(estimate, transferred.gasUsed)
        self.assertEqual(bob, 1234)
        self.assertEqual(name, "Test Token")
        self.assertEqual([log.args.value for log in logs], [10**24, 1234])
        self.assertEqual(logs[1].args["from"], account.address)
        self.assertEqual(logs[1].args.to, BOB)
        self.assertEqual(logs[1].transactionHash, transferred.transactionHash)
        self.assertEqual([e.args.value for e in filtered], [1234])
        self.assertIsNotNone(revert)
        self.assertIn("insufficient balance", revert)
