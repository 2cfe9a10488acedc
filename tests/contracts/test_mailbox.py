"""Bridgehub discovery and L1 -> L2 requests (Mailbox) on a real anvil.

A deposit must become exactly the L2CanonicalTransaction of the reference §7.3 (type 0x7f,
nonce = priority id, to_mint = reserved[0], refund recipient = reserved[1], txHash =
keccak256(abi.encode(tx))), enter the priority queue and tree, and move its ETH to the shared bridge.
"""

from __future__ import annotations

from eth_abi import decode, encode
from eth_utils import to_checksum_address

from tests.contracts import model
from tests.contracts.harness import GENESIS_ROOT, L1ContractsTestCase
from zkos_tw.hashing import keccak256
from zkos_tw.l1.artifacts import encode_call
from zkos_tw.l1.deploy import RICH_ADDRESS, eth_call

NEW_PRIORITY_REQUEST = "0x4531cd5795773d7101c17bdeb9f5ab7f47d7056017506f937083be5d6e77a382"
L2_TX = (
    "(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,"
    "uint256[4],bytes,bytes,uint256[],bytes,bytes)"
)
ETHER = 10**18


def forwarder_code(target: str) -> str:
    """Runtime code that forwards its calldata and value to ``target`` and returns or reverts
    with the answer."""
    call = "5f5f365f3473" + target[2:].lower() + "5af1"  # CALL(gas, target, value, 0, size, 0, 0)
    copy = "365f5f37"  # CALLDATACOPY(0, 0, size)
    answer = "3d5f5f3e"  # RETURNDATACOPY(0, 0, returndatasize)
    body = copy + call + answer
    jumpdest = len(bytes.fromhex(body)) + 3 + 3
    return "0x" + body + f"60{jumpdest:02x}57" + "3d5ffd" + "5b3d5ff3"


class DiscoveryTests(L1ContractsTestCase):
    """What the node reads at start-up (§7.1)."""

    def test_bridgehub(self):
        self.assertEqual(self.bridgehub_view("getAllZKChainChainIDs"), (270,))
        self.assertEqual(self.bridgehub_view("getZKChain", 270).lower(), self.chain.lower())
        self.assertEqual(self.bridgehub_view("getZKChain", 271), "0x" + "00" * 20)
        ctm = self.bridgehub_view("chainTypeManager", 270)
        self.assertEqual(ctm.lower(), self.addresses.chain_type_manager.lower())
        self.assertEqual(
            self.bridgehub_view("sharedBridge").lower(), self.addresses.shared_bridge.lower()
        )
        timelock = eth_call(
            self.rpc, self.arts["ChainTypeManager"], ctm, "validatorTimelockPostV29"
        )
        self.assertEqual(timelock.lower(), self.timelock.lower())

    def test_chain_getters(self):
        """A fresh chain: nothing committed, one priority tx (the deposit), Rollup pricing."""
        for name in (
            "getTotalBatchesCommitted",
            "getTotalBatchesVerified",
            "getTotalBatchesExecuted",
        ):
            self.assertEqual(self.chain_view(name), 0)
        self.assertEqual(self.chain_view("getTotalPriorityTxs"), 1)
        self.assertEqual(self.chain_view("getPubdataPricingMode"), 0)
        self.assertEqual(self.chain_view("getChainId"), 270)
        self.assertEqual(self.chain_view("getProtocolVersion"), 29 << 32)

    def test_genesis_batch(self):
        """storedBatchHash(0) is the genesis StoredBatchInfo over genesis.json's root."""
        self.assertEqual(
            self.chain_view("storedBatchHash", 0), model.genesis_batch(GENESIS_ROOT).hash()
        )
        self.assertEqual(self.chain_view("storedBatchHash", 1), b"\0" * 32)

    def test_reference_genesis_batch_hash(self):
        """For the reference genesis root the contract's genesis record hashes to the reference's
        0x492e189b… (zksync-os-server.md §6.4)."""
        root = bytes.fromhex("c346a158cce093e99ab65a95c884a26629d0e4f8d00ae20bbca4bfc4b204eec2")
        info = self.chain_view("genesisBatchInfo", root)
        self.assertEqual(
            keccak256(encode([model.STORED_BATCH_INFO], [info])).hex(),
            "492e189b00c1e79ab2da8e9475e345cbc4ad91b89650d086d956f2dd58ce2d89",
        )

    def test_register_chain_checks(self):
        """Only the owner registers chains; not twice, not the L1's own id, not with an unknown CTM."""
        bridgehub, ctm = self.addresses.bridgehub, self.addresses.chain_type_manager
        abi = self.arts["Bridgehub"].abi
        self.assertReverts(
            self.stranger, bridgehub, encode_call(abi, "createNewChain", 271, ctm), "OnlyOwner"
        )
        self.assertReverts(
            self.rich,
            bridgehub,
            encode_call(abi, "createNewChain", 270, ctm),
            "ChainAlreadyRegistered(270)",
        )
        self.assertReverts(
            self.rich,
            bridgehub,
            encode_call(abi, "createNewChain", 31337, ctm),
            "ChainIdNotAllowed(31337)",
        )
        self.assertReverts(
            self.rich,
            bridgehub,
            encode_call(abi, "createNewChain", 271, self.chain),
            "ChainTypeManagerNotRegistered",
        )
        self.assertReverts(
            self.rich,
            bridgehub,
            encode_call(abi, "setSharedBridge", self.chain),
            "SharedBridgeAlreadySet",
        )
        data = encode_call(self.arts["ChainTypeManager"].abi, "createNewChain", 271)
        self.assertReverts(self.rich, ctm, data, "OnlyBridgehub")

    def test_owner_only_settings(self):
        """Only the deployer changes the CTM's timelock or the timelock's operators."""
        data = encode_call(
            self.arts["ChainTypeManager"].abi, "setValidatorTimelockPostV29", self.chain
        )
        self.assertReverts(self.stranger, self.addresses.chain_type_manager, data, "OnlyOwner")
        data = encode_call(
            self.arts["ValidatorTimelock"].abi,
            "setValidatorRoles",
            self.chain,
            self.stranger.address,
            7,
        )
        self.assertReverts(self.committer, self.timelock, data, "OnlyOwner")
        self.rich.send("give the stranger every role", self.timelock, data)
        roles = eth_call(
            self.rpc,
            self.arts["ValidatorTimelock"],
            self.timelock,
            "roles",
            self.chain,
            self.stranger.address,
        )
        self.assertEqual(roles, 7)

    def test_second_chain(self):
        """Registering another chain gives it its own contract and GenesisUpgrade."""
        abi = self.arts["Bridgehub"].abi
        self.rich.send(
            "register 271",
            self.addresses.bridgehub,
            encode_call(abi, "createNewChain", 271, self.addresses.chain_type_manager),
        )
        self.assertEqual(self.bridgehub_view("getAllZKChainChainIDs"), (270, 271))
        other = self.bridgehub_view("getZKChain", 271)
        self.assertNotEqual(other.lower(), self.chain.lower())
        self.assertEqual(eth_call(self.rpc, self.arts["ZKChain"], other, "getChainId"), 271)


class DepositTests(L1ContractsTestCase):
    """requestL2TransactionDirect → NewPriorityRequest."""

    def request(self, **changes):
        fields = dict(
            chainId=270,
            mintValue=None,
            l2Contract=RICH_ADDRESS,
            l2Value=ETHER,
            l2Calldata=b"",
            l2GasLimit=500_000,
            l2GasPerPubdataByteLimit=800,
            factoryDeps=[],
            refundRecipient=RICH_ADDRESS,
        )
        fields.update(changes)
        if fields["mintValue"] is None:
            fields["mintValue"] = fields["l2Value"] + 20 * 10**9 * fields["l2GasLimit"]
        return fields

    def data(self, fields) -> bytes:
        return encode_call(
            self.arts["Bridgehub"].abi, "requestL2TransactionDirect", tuple(fields.values())
        )

    def send(self, fields, sender=None):
        sender = sender or self.rich
        receipt = sender.send(
            "deposit", self.addresses.bridgehub, self.data(fields), value=fields["mintValue"]
        )
        (log,) = [e for e in receipt["logs"] if e["topics"][0] == NEW_PRIORITY_REQUEST]
        self.assertEqual(log["address"].lower(), self.chain.lower())
        self.assertEqual(len(log["topics"]), 1, "NewPriorityRequest has no indexed parameters")
        tx_id, tx_hash, expiration, tx, deps = decode(
            ["uint256", "bytes32", "uint64", L2_TX, "bytes[]"], bytes.fromhex(log["data"][2:])
        )
        return receipt, tx_id, tx_hash, expiration, tx, deps

    def test_event_is_the_canonical_transaction(self):
        """Every field of the L2 transaction as in §7.3, and txHash = keccak256(abi.encode(tx))."""
        fields = self.request(l2Calldata=b"\x12\x34", factoryDeps=[b"\x60\x00"])
        receipt, tx_id, tx_hash, expiration, tx, deps = self.send(fields)
        self.assertEqual(tx_id, 1)
        self.assertEqual(tx_hash, keccak256(encode([L2_TX], [tx])))
        block = self.rpc.call("eth_getBlockByNumber", receipt["blockNumber"], False)
        self.assertEqual(expiration, int(block["timestamp"], 16))
        (
            tx_type,
            sender,
            to,
            gas_limit,
            per_pubdata,
            max_fee,
            max_priority,
            paymaster,
            nonce,
            value,
            reserved,
            calldata,
            signature,
            dep_hashes,
            paymaster_input,
            reserved_dynamic,
        ) = tx
        self.assertEqual(tx_type, 0x7F)
        self.assertEqual(sender, int(RICH_ADDRESS, 16))
        self.assertEqual(to, int(RICH_ADDRESS, 16))
        self.assertEqual((gas_limit, per_pubdata), (500_000, 800))
        self.assertEqual(max_fee, int(receipt["effectiveGasPrice"], 16))
        self.assertEqual((max_priority, paymaster), (0, 0))
        self.assertEqual(nonce, tx_id)
        self.assertEqual(value, ETHER)
        self.assertEqual(list(reserved), [fields["mintValue"], int(RICH_ADDRESS, 16), 0, 0])
        self.assertEqual(calldata, b"\x12\x34")
        self.assertEqual((signature, paymaster_input, reserved_dynamic), (b"", b"", b""))
        self.assertEqual(list(dep_hashes), [int.from_bytes(keccak256(b"\x60\x00"), "big")])
        self.assertEqual(list(deps), [b"\x60\x00"])

    def test_queue_tree_and_bridge(self):
        """The hash joins the queue and the priority tree; the ETH goes to the shared bridge."""
        before = eth_call(
            self.rpc, self.arts["L1SharedBridge"], self.addresses.shared_bridge, "chainBalance", 270
        )
        fields = self.request()
        _, tx_id, tx_hash, *_ = self.send(fields)
        self.assertEqual(self.chain_view("getTotalPriorityTxs"), 2)
        self.assertEqual(self.chain_view("getPriorityTxHash", tx_id), tx_hash)
        tree = model.PriorityTree()
        tree.push(self.l1_hashes[0])
        old_root = tree.root()
        tree.push(tx_hash)
        self.assertEqual(self.chain_view("getPriorityTreeRoot"), tree.root())
        self.assertTrue(self.chain_view("isPriorityTreeHistoricalRoot", old_root))
        after = eth_call(
            self.rpc, self.arts["L1SharedBridge"], self.addresses.shared_bridge, "chainBalance", 270
        )
        self.assertEqual(after - before, fields["mintValue"])
        self.assertEqual(
            int(self.rpc.call("eth_getBalance", self.addresses.shared_bridge, "latest"), 16), after
        )

    def test_refund_recipient_defaults_to_sender(self):
        _, _, _, _, tx, _ = self.send(self.request(refundRecipient="0x" + "00" * 20))
        self.assertEqual(tx[10][1], int(RICH_ADDRESS, 16))

    def test_contract_refund_recipient_is_aliased(self):
        """A contract on L1 cannot receive on L2 at the same address: it is aliased."""
        _, _, _, _, tx, _ = self.send(self.request(refundRecipient=self.addresses.bridgehub))
        alias = (
            int(self.addresses.bridgehub, 16) + 0x1111000000000000000000000000000000001111
        ) % 2**160
        self.assertEqual(tx[10][1], alias)

    def test_contract_sender_is_aliased(self):
        """A request made by a contract comes from its alias on L2 (sender != tx.origin)."""
        forwarder = to_checksum_address("0x00000000000000000000000000000000000f0f0f")
        self.rpc.call("anvil_setCode", forwarder, forwarder_code(self.addresses.bridgehub))
        fields = self.request(refundRecipient="0x" + "00" * 20)
        receipt = self.rich.send(
            "deposit through a contract", forwarder, self.data(fields), value=fields["mintValue"]
        )
        (log,) = [e for e in receipt["logs"] if e["topics"][0] == NEW_PRIORITY_REQUEST]
        tx = decode(
            ["uint256", "bytes32", "uint64", L2_TX, "bytes[]"], bytes.fromhex(log["data"][2:])
        )[3]
        alias = (int(forwarder, 16) + 0x1111000000000000000000000000000000001111) % 2**160
        self.assertEqual(tx[1], alias)
        self.assertEqual(tx[10][1], alias, "the refund recipient defaults to the aliased sender")

    def test_base_cost(self):
        """l2TransactionBaseCost = gas price x L2 gas limit; only gasPerPubdata 800."""
        self.assertEqual(
            self.bridgehub_view("l2TransactionBaseCost", 270, 7, 500_000, 800), 3_500_000
        )
        data = encode_call(
            self.arts["Bridgehub"].abi, "l2TransactionBaseCost", 270, 7, 500_000, 801
        )
        self.assertReverts(
            self.rich, self.addresses.bridgehub, data, "WrongGasPerPubdata(800, 801)"
        )
        data = encode_call(
            self.arts["Bridgehub"].abi, "l2TransactionBaseCost", 272, 7, 500_000, 800
        )
        self.assertReverts(self.rich, self.addresses.bridgehub, data, "ChainNotRegistered(272)")

    def test_rejections(self):
        bridgehub = self.addresses.bridgehub

        def refuse(error, value=None, **changes):
            fields = self.request(**changes)
            value = fields["mintValue"] if value is None else value
            data = self.data(fields)
            self.assertReverts(self.rich, bridgehub, data, error, value=value, gas_price=10**9)

        # At 1 gwei the base cost of 500,000 gas is 0.0005 ETH.
        refuse(f"MintValueTooLow({ETHER + 5 * 10**14}, {ETHER})", mintValue=ETHER)
        refuse("MsgValueMismatch", value=1)
        refuse("WrongGasPerPubdata(800, 50000)", l2GasPerPubdataByteLimit=50_000)
        refuse("L2GasLimitTooLow(200000, 199999)", l2GasLimit=199_999)
        refuse("L2GasLimitTooHigh(72000000, 72000001)", l2GasLimit=72_000_001)
        refuse("TooManyFactoryDeps(64, 65)", factoryDeps=[b"\x00"] * 65)
        refuse("ChainNotRegistered(271)", chainId=271)

    def test_only_the_bridgehub_reaches_the_mailbox(self):
        request = (RICH_ADDRESS, RICH_ADDRESS, ETHER, 0, b"", 500_000, 800, [], RICH_ADDRESS)
        data = encode_call(self.arts["ZKChain"].abi, "bridgehubRequestL2Transaction", request)
        self.assertReverts(self.rich, self.chain, data, "OnlyBridgehub")
        data = encode_call(
            self.arts["L1SharedBridge"].abi, "bridgehubDepositBaseToken", 270, RICH_ADDRESS, 1
        )
        self.assertReverts(self.rich, self.addresses.shared_bridge, data, "OnlyBridgehub", value=1)
