// SPDX-License-Identifier: MIT
// Shared types and constants of the zkos-tw L1 contracts. The struct layouts are those of the
// ZKsync L1 interfaces (reference zksync-os-server.md §6.4, §7.2, §7.3): selectors, topics and
// ABI encodings depend on them, so fields are never reordered.
pragma solidity 0.8.37;

/// The transaction a priority request (0x7f) or a protocol upgrade (0x7e) becomes on L2.
struct L2CanonicalTransaction {
    uint256 txType;
    uint256 from;
    uint256 to;
    uint256 gasLimit;
    uint256 gasPerPubdataByteLimit;
    uint256 maxFeePerGas;
    uint256 maxPriorityFeePerGas;
    uint256 paymaster;
    uint256 nonce;
    uint256 value;
    uint256[4] reserved;
    bytes data;
    bytes signature;
    uint256[] factoryDeps;
    bytes paymasterInput;
    bytes reservedDynamic;
}

/// What L1 remembers of a committed batch; its keccak of abi.encode is the batch's stored hash.
struct StoredBatchInfo {
    uint64 batchNumber;
    bytes32 batchHash;
    uint64 indexRepeatedStorageChanges;
    uint256 numberOfLayer1Txs;
    bytes32 priorityOperationsHash;
    bytes32 dependencyRootsRollingHash;
    bytes32 l2LogsTreeRoot;
    uint256 timestamp;
    bytes32 commitment;
}

/// A batch as the ZKsync OS node commits it (commit payload version 0x02).
struct CommitBatchInfoZKsyncOS {
    uint64 batchNumber;
    bytes32 newStateCommitment;
    uint256 numberOfLayer1Txs;
    bytes32 priorityOperationsHash;
    bytes32 dependencyRootsRollingHash;
    bytes32 l2LogsTreeRoot;
    address l2DaValidator;
    bytes32 daCommitment;
    uint64 firstBlockTimestamp;
    uint64 lastBlockTimestamp;
    uint256 chainId;
    bytes operatorDAInput;
}

/// Range proof of one batch's priority transactions in the priority tree.
struct PriorityOpsBatchInfo {
    bytes32[] leftPath;
    bytes32[] rightPath;
    bytes32[] itemHashes;
}

struct InteropRoot {
    uint256 chainId;
    uint256 blockOrBatchNumber;
    bytes32[] sides;
}

/// The argument of Bridgehub.requestL2TransactionDirect.
struct L2TransactionRequestDirect {
    uint256 chainId;
    uint256 mintValue;
    address l2Contract;
    uint256 l2Value;
    bytes l2Calldata;
    uint256 l2GasLimit;
    uint256 l2GasPerPubdataByteLimit;
    bytes[] factoryDeps;
    address refundRecipient;
}

/// The argument of Bridgehub.requestL2TransactionTwoBridges (declared for the selector only).
struct L2TransactionRequestTwoBridgesOuter {
    uint256 chainId;
    uint256 mintValue;
    uint256 l2Value;
    uint256 l2GasLimit;
    uint256 l2GasPerPubdataByteLimit;
    address refundRecipient;
    address secondBridgeAddress;
    uint256 secondBridgeValue;
    bytes secondBridgeCalldata;
}

/// What the Bridgehub hands to the chain's Mailbox.
struct BridgehubL2TransactionRequest {
    address sender;
    address contractL2;
    uint256 mintValue;
    uint256 l2Value;
    bytes l2Calldata;
    uint256 l2GasLimit;
    uint256 l2GasPerPubdataByteLimit;
    bytes[] factoryDeps;
    address refundRecipient;
}

enum PubdataPricingMode {
    Rollup,
    Validium
}

// keccak256("")
bytes32 constant EMPTY_STRING_KECCAK = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;
uint256 constant PRIORITY_OPERATION_L2_TX_TYPE = 0x7f;
uint256 constant SYSTEM_UPGRADE_L2_TX_TYPE = 0x7e;
uint256 constant REQUIRED_L2_GAS_PRICE_PER_PUBDATA = 800;
uint256 constant L1_TX_MINIMAL_GAS_LIMIT = 200_000;
uint256 constant PRIORITY_TX_MAX_GAS_LIMIT = 72_000_000;
// The SNARK public input keeps 224 bits: keccak output shifted right by 32.
uint256 constant PUBLIC_INPUT_SHIFT = 32;
// Commit payload version (ZKsync OS CommitBatchInfo); prove / execute payload version.
uint8 constant COMMIT_ENCODING_VERSION = 2;
uint8 constant PROVE_EXECUTE_ENCODING_VERSION = 1;
// L2 system addresses used by the genesis upgrade transaction.
uint256 constant L2_FORCE_DEPLOYER_ADDR = 0x8007;
uint256 constant L2_GENESIS_UPGRADE_ADDR = 0x10001;
// Offset added to a contract's address when it sends an L1->L2 transaction.
uint160 constant L1_TO_L2_ALIAS_OFFSET = uint160(0x1111000000000000000000000000000000001111);

function applyL1ToL2Alias(address l1Address) pure returns (address) {
    unchecked {
        return address(uint160(l1Address) + L1_TO_L2_ALIAS_OFFSET);
    }
}
