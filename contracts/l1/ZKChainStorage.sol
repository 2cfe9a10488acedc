// SPDX-License-Identifier: MIT
// State of one ZK chain contract (the "diamond proxy" address the node watches), shared by the
// Mailbox, Executor and Getters parts, with the access checks they use.
pragma solidity 0.8.37;

import {PriorityTreeState} from "./PriorityTree.sol";
import {PubdataPricingMode} from "./ZKChainTypes.sol";

abstract contract ZKChainStorage {
    uint256 internal chainId;
    address internal bridgehub;
    address internal chainTypeManager;
    address internal validatorTimelock;
    address internal verifier;
    uint256 internal protocolVersion;
    PubdataPricingMode internal pubdataPricingMode;

    uint256 internal totalBatchesCommitted;
    uint256 internal totalBatchesVerified;
    uint256 internal totalBatchesExecuted;
    /// keccak256(abi.encode(StoredBatchInfo)) of every committed batch, batch 0 = genesis.
    mapping(uint256 => bytes32) internal storedBatchHashes;
    /// l2LogsTreeRoot of every executed batch (for withdrawal proofs).
    mapping(uint256 => bytes32) internal l2LogsRootHashes;

    /// Hashes of all priority transactions in id order (the priority queue).
    bytes32[] internal priorityQueue;
    /// How many of them committed batches have consumed.
    uint256 internal priorityTxsCommitted;
    PriorityTreeState internal priorityTree;

    /// The pending system upgrade (the genesis upgrade after registration) and the batch that
    /// carries it (0 until committed); both cleared once that batch is executed.
    bytes32 internal l2SystemContractsUpgradeTxHash;
    uint256 internal l2SystemContractsUpgradeBatchNumber;

    error OnlyBridgehub(address caller);
    error OnlyValidatorTimelock(address caller);

    modifier onlyBridgehub() {
        if (msg.sender != bridgehub) revert OnlyBridgehub(msg.sender);
        _;
    }

    modifier onlyValidatorTimelock() {
        if (msg.sender != validatorTimelock) revert OnlyValidatorTimelock(msg.sender);
        _;
    }
}
