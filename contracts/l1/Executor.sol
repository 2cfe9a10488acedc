// SPDX-License-Identifier: MIT
// Commit / prove / execute of batches (the Executor facet), with the calldata layouts of the
// reference §7.2, reachable only through the validator timelock. Every step checks what the
// node sends: the batch range, the StoredBatchInfo hash chain, the priority operations, the DA
// commitment, the SNARK public input (through the verifier) and the priority-tree range proof.
pragma solidity 0.8.37;

import {PriorityTree} from "./PriorityTree.sol";
import {TestnetVerifier} from "./TestnetVerifier.sol";
import {ZKChainStorage} from "./ZKChainStorage.sol";
import {
    COMMIT_ENCODING_VERSION,
    CommitBatchInfoZKsyncOS,
    EMPTY_STRING_KECCAK,
    InteropRoot,
    PROVE_EXECUTE_ENCODING_VERSION,
    PUBLIC_INPUT_SHIFT,
    PriorityOpsBatchInfo,
    PubdataPricingMode,
    StoredBatchInfo
} from "./ZKChainTypes.sol";

abstract contract Executor is ZKChainStorage {
    event BlockCommit(uint256 indexed batchNumber, bytes32 indexed batchHash, bytes32 indexed commitment);
    event BlocksVerification(uint256 indexed previousLastVerifiedBatch, uint256 indexed currentLastVerifiedBatch);
    event BlockExecution(uint256 indexed batchNumber, bytes32 indexed batchHash, bytes32 indexed commitment);

    error WrongChainAddress(address expected, address got);
    error UnsupportedEncodingVersion(uint8 expected, uint8 got);
    error NoBatches();
    error WrongBatchRange(uint256 expectedFrom, uint256 from, uint256 to, uint256 count);
    error BatchNumberMismatch(uint256 expected, uint256 got);
    error PreviousBatchHashMismatch(bytes32 stored, bytes32 got);
    error StoredBatchHashMismatch(uint256 batchNumber, bytes32 stored, bytes32 got);
    error WrongChainId(uint256 expected, uint256 got);
    error TimestampsOutOfOrder(uint64 first, uint64 last);
    error NotEnoughPriorityTxs(uint256 available, uint256 requested);
    error PriorityOperationsHashMismatch(bytes32 expected, bytes32 got);
    error MalformedOperatorDAInput(uint256 length);
    error DACommitmentMismatch(bytes32 expected, bytes32 got);
    error PubdataHashMismatch(bytes32 expected, bytes32 got);
    error BatchNotCommitted(uint256 batchNumber, uint256 totalCommitted);
    error BatchNotVerified(uint256 batchNumber, uint256 totalVerified);
    error InvalidProof();
    error PriorityOpsCountMismatch(uint256 batchNumber, uint256 expected, uint256 got);
    error ArgumentsLengthMismatch();
    error InteropRootsNotSupported(uint256 batchNumber);

    // ---------------------------------------------------------------- commit

    /// `data` = 0x02 || abi.encode(StoredBatchInfo last, CommitBatchInfoZKsyncOS[] batches).
    function commitBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data)
        external
        onlyValidatorTimelock
    {
        _checkChainAddress(chainAddress);
        _checkVersion(data, COMMIT_ENCODING_VERSION);
        (StoredBatchInfo memory last, CommitBatchInfoZKsyncOS[] memory batches) =
            abi.decode(data[1:], (StoredBatchInfo, CommitBatchInfoZKsyncOS[]));
        _checkRange(totalBatchesCommitted + 1, from, to, batches.length);
        bytes32 lastHash = keccak256(abi.encode(last));
        if (lastHash != storedBatchHashes[totalBatchesCommitted]) {
            revert PreviousBatchHashMismatch(storedBatchHashes[totalBatchesCommitted], lastHash);
        }
        for (uint256 i = 0; i < batches.length; ++i) {
            last = _commitOneBatch(last, batches[i]);
        }
        totalBatchesCommitted = to;
    }

    function _commitOneBatch(StoredBatchInfo memory previous, CommitBatchInfoZKsyncOS memory batch)
        internal
        returns (StoredBatchInfo memory stored)
    {
        if (batch.batchNumber != previous.batchNumber + 1) {
            revert BatchNumberMismatch(previous.batchNumber + 1, batch.batchNumber);
        }
        if (batch.chainId != chainId) revert WrongChainId(chainId, batch.chainId);
        if (batch.firstBlockTimestamp > batch.lastBlockTimestamp) {
            revert TimestampsOutOfOrder(batch.firstBlockTimestamp, batch.lastBlockTimestamp);
        }
        _consumePriorityOps(batch.numberOfLayer1Txs, batch.priorityOperationsHash);
        if (pubdataPricingMode == PubdataPricingMode.Rollup) _checkRollupDA(batch.daCommitment, batch.operatorDAInput);

        // The first batch committed after a system upgrade carries it (block 1 starts with the
        // genesis upgrade transaction), so its hash enters that batch's commitment.
        bytes32 upgradeTxHash;
        if (l2SystemContractsUpgradeTxHash != bytes32(0) && l2SystemContractsUpgradeBatchNumber == 0) {
            upgradeTxHash = l2SystemContractsUpgradeTxHash;
            l2SystemContractsUpgradeBatchNumber = batch.batchNumber;
        }
        bytes32 commitment = batchOutputHash(batch, upgradeTxHash);
        stored = StoredBatchInfo({
            batchNumber: batch.batchNumber,
            batchHash: batch.newStateCommitment,
            indexRepeatedStorageChanges: 0,
            numberOfLayer1Txs: batch.numberOfLayer1Txs,
            priorityOperationsHash: batch.priorityOperationsHash,
            dependencyRootsRollingHash: batch.dependencyRootsRollingHash,
            l2LogsTreeRoot: batch.l2LogsTreeRoot,
            timestamp: 0,
            commitment: commitment
        });
        storedBatchHashes[batch.batchNumber] = keccak256(abi.encode(stored));
        emit BlockCommit(batch.batchNumber, batch.newStateCommitment, commitment);
    }

    /// The batch's public output (reference §6.4): keccak of the packed 260 bytes.
    function batchOutputHash(CommitBatchInfoZKsyncOS memory batch, bytes32 upgradeTxHash)
        public
        pure
        returns (bytes32)
    {
        bytes memory head = abi.encodePacked(
            batch.chainId,
            batch.firstBlockTimestamp,
            batch.lastBlockTimestamp,
            batch.l2DaValidator,
            batch.daCommitment
        );
        bytes memory tail = abi.encodePacked(
            batch.numberOfLayer1Txs,
            batch.priorityOperationsHash,
            batch.l2LogsTreeRoot,
            upgradeTxHash,
            batch.dependencyRootsRollingHash
        );
        return keccak256(bytes.concat(head, tail));
    }

    /// The next `count` queued priority transactions must roll up to `expected`.
    function _consumePriorityOps(uint256 count, bytes32 expected) internal {
        uint256 start = priorityTxsCommitted;
        uint256 available = priorityQueue.length - start;
        if (count > available) revert NotEnoughPriorityTxs(available, count);
        bytes32 rolling = EMPTY_STRING_KECCAK;
        for (uint256 i = 0; i < count; ++i) {
            rolling = keccak256(abi.encode(rolling, priorityQueue[start + i]));
        }
        if (rolling != expected) revert PriorityOperationsHashMismatch(rolling, expected);
        priorityTxsCommitted = start + count;
    }

    /// Rollup calldata DA: input = header(97) || 0x00 || pubdata || 0^32, header =
    /// 0^32 || keccak(pubdata) || 0x01 || 0^32, and daCommitment = keccak(header).
    function _checkRollupDA(bytes32 daCommitment, bytes memory input) internal pure {
        if (input.length < 97 + 1 + 32 || input[97] != 0x00 || input[64] != 0x01) {
            revert MalformedOperatorDAInput(input.length);
        }
        bytes32 headerHash = _keccakRange(input, 0, 97);
        if (headerHash != daCommitment) revert DACommitmentMismatch(headerHash, daCommitment);
        bytes32 pubdataHash = _keccakRange(input, 98, input.length - 98 - 32);
        bytes32 claimed;
        assembly ("memory-safe") {
            claimed := mload(add(input, 64))
        }
        if (pubdataHash != claimed) revert PubdataHashMismatch(pubdataHash, claimed);
    }

    function _keccakRange(bytes memory data, uint256 start, uint256 length) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            h := keccak256(add(add(data, 32), start), length)
        }
    }

    // ---------------------------------------------------------------- prove

    /// `data` = 0x01 || abi.encode(StoredBatchInfo prev, StoredBatchInfo[] batches, uint256[] proof).
    function proveBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data)
        external
        onlyValidatorTimelock
    {
        _checkChainAddress(chainAddress);
        _checkVersion(data, PROVE_EXECUTE_ENCODING_VERSION);
        (StoredBatchInfo memory prev, StoredBatchInfo[] memory batches, uint256[] memory proof) =
            abi.decode(data[1:], (StoredBatchInfo, StoredBatchInfo[], uint256[]));
        uint256 verified = totalBatchesVerified;
        _checkRange(verified + 1, from, to, batches.length);
        if (to > totalBatchesCommitted) revert BatchNotCommitted(to, totalBatchesCommitted);
        bytes32 prevHash = keccak256(abi.encode(prev));
        if (prevHash != storedBatchHashes[verified]) revert PreviousBatchHashMismatch(storedBatchHashes[verified], prevHash);

        uint256 publicInput;
        bytes32 prevState = prev.batchHash;
        for (uint256 i = 0; i < batches.length; ++i) {
            _checkStored(from + i, batches[i]);
            uint256 batchInput = uint256(keccak256(abi.encodePacked(prevState, batches[i].batchHash, batches[i].commitment)))
                >> PUBLIC_INPUT_SHIFT;
            publicInput = i == 0 ? batchInput : uint256(keccak256(abi.encodePacked(publicInput, batchInput))) >> PUBLIC_INPUT_SHIFT;
            prevState = batches[i].batchHash;
        }
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = publicInput;
        if (!TestnetVerifier(verifier).verify(inputs, proof)) revert InvalidProof();
        totalBatchesVerified = to;
        emit BlocksVerification(verified, to);
    }

    // ---------------------------------------------------------------- execute

    /// `data` = 0x01 || abi.encode(StoredBatchInfo[] batches, PriorityOpsBatchInfo[] ops, InteropRoot[][] roots).
    function executeBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data)
        external
        onlyValidatorTimelock
    {
        _checkChainAddress(chainAddress);
        _checkVersion(data, PROVE_EXECUTE_ENCODING_VERSION);
        (StoredBatchInfo[] memory batches, PriorityOpsBatchInfo[] memory ops, InteropRoot[][] memory roots) =
            abi.decode(data[1:], (StoredBatchInfo[], PriorityOpsBatchInfo[], InteropRoot[][]));
        if (ops.length != batches.length || roots.length != batches.length) revert ArgumentsLengthMismatch();
        _checkRange(totalBatchesExecuted + 1, from, to, batches.length);
        if (to > totalBatchesVerified) revert BatchNotVerified(to, totalBatchesVerified);
        for (uint256 i = 0; i < batches.length; ++i) {
            _executeOneBatch(from + i, batches[i], ops[i], roots[i].length);
        }
        totalBatchesExecuted = to;
    }

    function _executeOneBatch(
        uint256 batchNumber,
        StoredBatchInfo memory batch,
        PriorityOpsBatchInfo memory ops,
        uint256 interopRoots
    ) internal {
        _checkStored(batchNumber, batch);
        if (interopRoots != 0) revert InteropRootsNotSupported(batchNumber);
        if (ops.itemHashes.length != batch.numberOfLayer1Txs) {
            revert PriorityOpsCountMismatch(batchNumber, batch.numberOfLayer1Txs, ops.itemHashes.length);
        }
        bytes32 rolling = EMPTY_STRING_KECCAK;
        for (uint256 i = 0; i < ops.itemHashes.length; ++i) {
            rolling = keccak256(abi.encode(rolling, ops.itemHashes[i]));
        }
        if (rolling != batch.priorityOperationsHash) {
            revert PriorityOperationsHashMismatch(batch.priorityOperationsHash, rolling);
        }
        PriorityTree.processBatch(priorityTree, ops.leftPath, ops.rightPath, ops.itemHashes);
        l2LogsRootHashes[batchNumber] = batch.l2LogsTreeRoot;
        if (l2SystemContractsUpgradeBatchNumber == batchNumber) {
            l2SystemContractsUpgradeTxHash = bytes32(0);
            l2SystemContractsUpgradeBatchNumber = 0;
        }
        emit BlockExecution(batchNumber, batch.batchHash, batch.commitment);
    }

    // ---------------------------------------------------------------- shared checks

    function _checkChainAddress(address chainAddress) internal view {
        if (chainAddress != address(this)) revert WrongChainAddress(address(this), chainAddress);
    }

    function _checkVersion(bytes calldata data, uint8 expected) internal pure {
        uint8 got = data.length == 0 ? 0 : uint8(data[0]);
        if (got != expected) revert UnsupportedEncodingVersion(expected, got);
    }

    function _checkRange(uint256 expectedFrom, uint256 from, uint256 to, uint256 count) internal pure {
        if (count == 0) revert NoBatches();
        if (from != expectedFrom || to != from + count - 1) revert WrongBatchRange(expectedFrom, from, to, count);
    }

    function _checkStored(uint256 batchNumber, StoredBatchInfo memory batch) internal view {
        bytes32 got = keccak256(abi.encode(batch));
        if (batch.batchNumber != batchNumber || got != storedBatchHashes[batchNumber]) {
            revert StoredBatchHashMismatch(batchNumber, storedBatchHashes[batchNumber], got);
        }
    }
}
