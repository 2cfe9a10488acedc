// SPDX-License-Identifier: MIT
// Benchmark workload for `zkosctl bench evm`: a chain of keccak256 hashes over 64 bytes of
// scratch memory (no memory growth), the loop a Merkle or commitment computation runs.
pragma solidity 0.8.37;

contract KeccakLoop {
    /// Return keccak256(h || i) iterated `n` times, starting from `seed`.
    function hashLoop(bytes32 seed, uint256 n) external pure returns (bytes32 h) {
        h = seed;
        for (uint256 i = 0; i < n; ++i) {
            assembly {
                mstore(0x00, h)
                mstore(0x20, i)
                h := keccak256(0x00, 0x40)
            }
        }
    }
}
