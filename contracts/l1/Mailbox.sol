// SPDX-License-Identifier: MIT
// L1 -> L2 priority requests (the Mailbox facet): each request becomes an L2CanonicalTransaction
// of type 0x7f whose hash keccak256(abi.encode(tx)) goes into the priority queue and tree, and is
// announced by NewPriorityRequest (reference §7.3).
pragma solidity 0.8.37;

import {PriorityTree} from "./PriorityTree.sol";
import {ZKChainStorage} from "./ZKChainStorage.sol";
import {
    BridgehubL2TransactionRequest,
    L1_TX_MINIMAL_GAS_LIMIT,
    L2CanonicalTransaction,
    PRIORITY_OPERATION_L2_TX_TYPE,
    PRIORITY_TX_MAX_GAS_LIMIT,
    REQUIRED_L2_GAS_PRICE_PER_PUBDATA,
    applyL1ToL2Alias
} from "./ZKChainTypes.sol";

abstract contract Mailbox is ZKChainStorage {
    event NewPriorityRequest(
        uint256 txId,
        bytes32 txHash,
        uint64 expirationTimestamp,
        L2CanonicalTransaction transaction,
        bytes[] factoryDeps
    );

    error WrongGasPerPubdata(uint256 required, uint256 got);
    error L2GasLimitTooLow(uint256 minimum, uint256 got);
    error L2GasLimitTooHigh(uint256 maximum, uint256 got);
    error MintValueTooLow(uint256 required, uint256 got);
    error TooManyFactoryDeps(uint256 maximum, uint256 got);

    uint256 internal constant MAX_NEW_FACTORY_DEPS = 64;

    /// What L1 charges for an L2 transaction: the L2 gas price (here the L1 gas price itself,
    /// which also becomes the transaction's maxFeePerGas) times the L2 gas limit.
    function l2TransactionBaseCost(uint256 gasPrice, uint256 l2GasLimit, uint256 l2GasPerPubdataByteLimit)
        public
        pure
        returns (uint256)
    {
        if (l2GasPerPubdataByteLimit != REQUIRED_L2_GAS_PRICE_PER_PUBDATA) {
            revert WrongGasPerPubdata(REQUIRED_L2_GAS_PRICE_PER_PUBDATA, l2GasPerPubdataByteLimit);
        }
        return gasPrice * l2GasLimit;
    }

    /// Called by the Bridgehub (which holds the ETH) for requestL2TransactionDirect.
    function bridgehubRequestL2Transaction(BridgehubL2TransactionRequest calldata request)
        external
        onlyBridgehub
        returns (bytes32 canonicalTxHash)
    {
        if (request.l2GasLimit < L1_TX_MINIMAL_GAS_LIMIT) {
            revert L2GasLimitTooLow(L1_TX_MINIMAL_GAS_LIMIT, request.l2GasLimit);
        }
        if (request.l2GasLimit > PRIORITY_TX_MAX_GAS_LIMIT) {
            revert L2GasLimitTooHigh(PRIORITY_TX_MAX_GAS_LIMIT, request.l2GasLimit);
        }
        if (request.factoryDeps.length > MAX_NEW_FACTORY_DEPS) {
            revert TooManyFactoryDeps(MAX_NEW_FACTORY_DEPS, request.factoryDeps.length);
        }
        uint256 required =
            l2TransactionBaseCost(tx.gasprice, request.l2GasLimit, request.l2GasPerPubdataByteLimit) + request.l2Value;
        if (request.mintValue < required) revert MintValueTooLow(required, request.mintValue);

        // A contract sender is aliased on L2, so that it cannot pose as the same address there.
        address sender = request.sender == tx.origin ? request.sender : applyL1ToL2Alias(request.sender);
        address refundRecipient = request.refundRecipient;
        if (refundRecipient == address(0)) {
            refundRecipient = sender;
        } else if (refundRecipient.code.length > 0) {
            refundRecipient = applyL1ToL2Alias(refundRecipient);
        }

        uint256 txId = priorityQueue.length;
        L2CanonicalTransaction memory transaction;
        transaction.txType = PRIORITY_OPERATION_L2_TX_TYPE;
        transaction.from = uint256(uint160(sender));
        transaction.to = uint256(uint160(request.contractL2));
        transaction.gasLimit = request.l2GasLimit;
        transaction.gasPerPubdataByteLimit = request.l2GasPerPubdataByteLimit;
        transaction.maxFeePerGas = tx.gasprice;
        transaction.nonce = txId;
        transaction.value = request.l2Value;
        transaction.reserved[0] = request.mintValue;
        transaction.reserved[1] = uint256(uint160(refundRecipient));
        transaction.data = request.l2Calldata;
        transaction.factoryDeps = _hashFactoryDeps(request.factoryDeps);

        canonicalTxHash = keccak256(abi.encode(transaction));
        priorityQueue.push(canonicalTxHash);
        PriorityTree.push(priorityTree, canonicalTxHash);
        // Priority transactions do not expire in ZKsync OS: the expiration is the request time.
        emit NewPriorityRequest(txId, canonicalTxHash, uint64(block.timestamp), transaction, request.factoryDeps);
    }

    function _hashFactoryDeps(bytes[] calldata deps) internal pure returns (uint256[] memory hashes) {
        hashes = new uint256[](deps.length);
        for (uint256 i = 0; i < deps.length; ++i) {
            hashes[i] = uint256(keccak256(deps[i]));
        }
    }
}
