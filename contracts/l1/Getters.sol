// SPDX-License-Identifier: MIT
// Read-only view of a ZK chain (the Getters facet of the ZKsync L1 interfaces).
pragma solidity 0.8.37;

import {PriorityTree} from "./PriorityTree.sol";
import {ZKChainStorage} from "./ZKChainStorage.sol";
import {PubdataPricingMode} from "./ZKChainTypes.sol";

abstract contract Getters is ZKChainStorage {
    function getTotalBatchesCommitted() external view returns (uint256) {
        return totalBatchesCommitted;
    }

    function getTotalBatchesVerified() external view returns (uint256) {
        return totalBatchesVerified;
    }

    function getTotalBatchesExecuted() external view returns (uint256) {
        return totalBatchesExecuted;
    }

    /// Number of priority transactions ever requested (= the next priority id).
    function getTotalPriorityTxs() external view returns (uint256) {
        return priorityQueue.length;
    }

    function getFirstUnprocessedPriorityTx() external view returns (uint256) {
        return priorityTree.unprocessedIndex;
    }

    function getPriorityQueueSize() external view returns (uint256) {
        return priorityQueue.length - priorityTree.unprocessedIndex;
    }

    function getPriorityTxHash(uint256 priorityId) external view returns (bytes32) {
        return priorityQueue[priorityId];
    }

    function getPriorityTreeRoot() external view returns (bytes32) {
        return PriorityTree.root(priorityTree);
    }

    function getPriorityTreeStartIndex() external pure returns (uint256) {
        return 0;
    }

    function isPriorityTreeHistoricalRoot(bytes32 root) external view returns (bool) {
        return priorityTree.historicalRoots[root];
    }

    function getPubdataPricingMode() external view returns (PubdataPricingMode) {
        return pubdataPricingMode;
    }

    function storedBatchHash(uint256 batchNumber) external view returns (bytes32) {
        return storedBatchHashes[batchNumber];
    }

    function l2LogsRootHash(uint256 batchNumber) external view returns (bytes32) {
        return l2LogsRootHashes[batchNumber];
    }

    function getChainId() external view returns (uint256) {
        return chainId;
    }

    function getBridgehub() external view returns (address) {
        return bridgehub;
    }

    function getChainTypeManager() external view returns (address) {
        return chainTypeManager;
    }

    function getValidatorTimelock() external view returns (address) {
        return validatorTimelock;
    }

    function getVerifier() external view returns (address) {
        return verifier;
    }

    function getProtocolVersion() external view returns (uint256) {
        return protocolVersion;
    }

    function getL2SystemContractsUpgradeTxHash() external view returns (bytes32) {
        return l2SystemContractsUpgradeTxHash;
    }

    function getL2SystemContractsUpgradeBatchNumber() external view returns (uint256) {
        return l2SystemContractsUpgradeBatchNumber;
    }
}
