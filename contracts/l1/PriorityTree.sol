// SPDX-License-Identifier: MIT
// The priority tree: a keccak Merkle tree over the L1 priority transaction hashes (leaves are the
// hashes themselves, empty leaf keccak("")), growing by doubling. Every root it ever had is kept,
// so a batch's range proof may be computed against the tree as the node knew it (reference §7.4).
pragma solidity 0.8.37;

import {EMPTY_STRING_KECCAK} from "./ZKChainTypes.sol";

struct PriorityTreeState {
    uint256 nextLeafIndex;
    /// Index of the first priority transaction not executed yet.
    uint256 unprocessedIndex;
    /// zeros[i] = root of an empty subtree of height i.
    bytes32[] zeros;
    /// sides[i] = left node at height i on the path of the next leaf; sides[height] = root.
    bytes32[] sides;
    mapping(bytes32 => bool) historicalRoots;
}

library PriorityTree {
    error MerklePathLengthMismatch(uint256 left, uint256 right);
    error MerklePathTooLong(uint256 length);
    error MerkleNothingToProve();
    error MerkleIndexOrHeightMismatch(uint256 end, uint256 capacity);
    error NotHistoricalRoot(bytes32 root);

    function setup(PriorityTreeState storage self) internal {
        self.zeros.push(EMPTY_STRING_KECCAK);
        self.sides.push(bytes32(0));
    }

    /// Append a leaf; returns the new root (recorded as historical).
    function push(PriorityTreeState storage self, bytes32 leaf) internal returns (bytes32 root) {
        uint256 levels = self.zeros.length - 1;
        uint256 index = self.nextLeafIndex++;
        if (index == 1 << levels) {
            bytes32 zero = self.zeros[levels];
            self.zeros.push(hashPair(zero, zero));
            self.sides.push(bytes32(0));
            ++levels;
        }
        bytes32 current = leaf;
        bool updatedSides = false;
        for (uint256 i = 0; i < levels; ++i) {
            if ((index >> i) & 1 == 0) {
                if (!updatedSides) {
                    self.sides[i] = current;
                    updatedSides = true;
                }
                current = hashPair(current, self.zeros[i]);
            } else {
                current = hashPair(self.sides[i], current);
            }
        }
        self.sides[levels] = current;
        self.historicalRoots[current] = true;
        return current;
    }

    function root(PriorityTreeState storage self) internal view returns (bytes32) {
        if (self.nextLeafIndex == 0) return bytes32(0);
        return self.sides[self.sides.length - 1];
    }

    /// Check a batch's range proof against a historical root and mark its items executed.
    function processBatch(
        PriorityTreeState storage self,
        bytes32[] memory leftPath,
        bytes32[] memory rightPath,
        bytes32[] memory itemHashes
    ) internal {
        if (itemHashes.length == 0) return;
        bytes32 expected = calculateRootPaths(leftPath, rightPath, self.unprocessedIndex, itemHashes);
        if (!self.historicalRoots[expected]) revert NotHistoricalRoot(expected);
        self.unprocessedIndex += itemHashes.length;
    }

    /// Root of a tree from a contiguous range of leaves and the paths left and right of it.
    function calculateRootPaths(
        bytes32[] memory startPath,
        bytes32[] memory endPath,
        uint256 startIndex,
        bytes32[] memory items
    ) internal pure returns (bytes32) {
        uint256 pathLength = startPath.length;
        if (pathLength != endPath.length) revert MerklePathLengthMismatch(pathLength, endPath.length);
        if (pathLength >= 256) revert MerklePathTooLong(pathLength);
        uint256 levelLen = items.length;
        if (levelLen == 0) revert MerkleNothingToProve();
        if (startIndex + levelLen > (1 << pathLength)) {
            revert MerkleIndexOrHeightMismatch(startIndex + levelLen, 1 << pathLength);
        }
        bytes32[] memory level = new bytes32[](levelLen);
        for (uint256 i = 0; i < levelLen; ++i) level[i] = items[i];
        for (uint256 h = 0; h < pathLength; ++h) {
            uint256 parity = startIndex % 2;
            uint256 nextLen = levelLen / 2 + (parity | (levelLen % 2));
            for (uint256 i = 0; i < nextLen; ++i) {
                bytes32 lhs = (i == 0 && parity == 1) ? startPath[h] : level[2 * i - parity];
                bytes32 rhs = (i == nextLen - 1 && (startIndex + levelLen) % 2 == 1)
                    ? endPath[h]
                    : level[2 * i + 1 - parity];
                level[i] = hashPair(lhs, rhs);
            }
            levelLen = nextLen;
            startIndex /= 2;
        }
        return level[0];
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32 value) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            value := keccak256(0x00, 0x40)
        }
    }
}
