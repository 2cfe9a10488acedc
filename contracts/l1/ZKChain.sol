// SPDX-License-Identifier: MIT
// One ZK chain on L1: Mailbox + Executor + Getters in a single contract (the address the node
// calls the "diamond proxy"). The constructor records the genesis batch and announces the genesis
// upgrade transaction (type 0x7e) that the chain's block 1 must start with.
pragma solidity 0.8.37;

import {Executor} from "./Executor.sol";
import {Getters} from "./Getters.sol";
import {Mailbox} from "./Mailbox.sol";
import {PriorityTree} from "./PriorityTree.sol";
import {
    EMPTY_STRING_KECCAK,
    L2_FORCE_DEPLOYER_ADDR,
    L2_GENESIS_UPGRADE_ADDR,
    L2CanonicalTransaction,
    PRIORITY_TX_MAX_GAS_LIMIT,
    PubdataPricingMode,
    REQUIRED_L2_GAS_PRICE_PER_PUBDATA,
    SYSTEM_UPGRADE_L2_TX_TYPE,
    StoredBatchInfo
} from "./ZKChainTypes.sol";

struct ZKChainInit {
    uint256 chainId;
    address bridgehub;
    address validatorTimelock;
    address verifier;
    uint256 protocolVersion;
    /// genesis_root of genesis.json: the state commitment of block 0.
    bytes32 genesisStateCommitment;
    PubdataPricingMode pubdataPricingMode;
}

contract ZKChain is Mailbox, Executor, Getters {
    event GenesisUpgrade(
        address indexed _zkChain,
        L2CanonicalTransaction _l2Transaction,
        uint256 indexed _protocolVersion,
        bytes[] _factoryDeps
    );

    constructor(ZKChainInit memory init) {
        chainId = init.chainId;
        bridgehub = init.bridgehub;
        chainTypeManager = msg.sender;
        validatorTimelock = init.validatorTimelock;
        verifier = init.verifier;
        protocolVersion = init.protocolVersion;
        pubdataPricingMode = init.pubdataPricingMode;
        PriorityTree.setup(priorityTree);
        storedBatchHashes[0] = keccak256(abi.encode(genesisBatchInfo(init.genesisStateCommitment)));

        L2CanonicalTransaction memory upgrade = genesisUpgradeTransaction(
            init.chainId, block.chainid, init.protocolVersion, init.bridgehub, address(this)
        );
        l2SystemContractsUpgradeTxHash = keccak256(abi.encode(upgrade));
        emit GenesisUpgrade(address(this), upgrade, init.protocolVersion, new bytes[](0));
    }

    /// StoredBatchInfo of batch 0 (reference §6.4).
    function genesisBatchInfo(bytes32 genesisStateCommitment) public pure returns (StoredBatchInfo memory) {
        return StoredBatchInfo({
            batchNumber: 0,
            batchHash: genesisStateCommitment,
            indexRepeatedStorageChanges: 0,
            numberOfLayer1Txs: 0,
            priorityOperationsHash: EMPTY_STRING_KECCAK,
            dependencyRootsRollingHash: bytes32(0),
            l2LogsTreeRoot: bytes32(0),
            timestamp: 0,
            commitment: bytes32(uint256(1))
        });
    }

    /// The genesis upgrade: from the L2 force deployer (0x8007) to our L2GenesisUpgrade
    /// (0x10001), calling genesisUpgrade(chainId, l1ChainId, protocolVersion, l1Bridgehub,
    /// l1ChainContract), which records the chain's identity on L2 (contracts/l2/L2GenesisUpgrade.sol).
    function genesisUpgradeTransaction(
        uint256 l2ChainId,
        uint256 l1ChainId,
        uint256 version,
        address l1Bridgehub,
        address l1ChainContract
    ) public pure returns (L2CanonicalTransaction memory transaction) {
        transaction.txType = SYSTEM_UPGRADE_L2_TX_TYPE;
        transaction.from = L2_FORCE_DEPLOYER_ADDR;
        transaction.to = L2_GENESIS_UPGRADE_ADDR;
        transaction.gasLimit = PRIORITY_TX_MAX_GAS_LIMIT;
        transaction.gasPerPubdataByteLimit = REQUIRED_L2_GAS_PRICE_PER_PUBDATA;
        transaction.nonce = version;
        transaction.data = abi.encodeWithSignature(
            "genesisUpgrade(uint256,uint256,uint256,address,address)",
            l2ChainId,
            l1ChainId,
            version,
            l1Bridgehub,
            l1ChainContract
        );
    }
}
