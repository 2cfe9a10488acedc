// SPDX-License-Identifier: MIT
// The Bridgehub: registry of ZK chains (chain id -> chain contract and chain type manager) and
// entry point of L1 -> L2 requests. requestL2TransactionDirect moves the ETH to the shared bridge
// and asks the chain's Mailbox to queue the L2 transaction.
pragma solidity 0.8.37;

import {BridgehubL2TransactionRequest, L2TransactionRequestDirect} from "./ZKChainTypes.sol";

interface IChainTypeManager {
    function createNewChain(uint256 chainId) external returns (address);
}

interface IMailbox {
    function bridgehubRequestL2Transaction(BridgehubL2TransactionRequest calldata request) external returns (bytes32);
    function l2TransactionBaseCost(uint256 gasPrice, uint256 l2GasLimit, uint256 l2GasPerPubdataByteLimit)
        external
        view
        returns (uint256);
}

interface ISharedBridge {
    function bridgehubDepositBaseToken(uint256 chainId, address from, uint256 amount) external payable;
}

contract Bridgehub {
    address public immutable owner;
    address public sharedBridge;
    mapping(address => bool) public chainTypeManagerIsRegistered;
    mapping(uint256 => address) public chainTypeManager;
    mapping(uint256 => address) internal zkChains;
    uint256[] internal chainIds;

    event NewChain(uint256 indexed chainId, address chainTypeManager, address indexed chainGovernance);
    event ChainTypeManagerAdded(address indexed chainTypeManager);
    event SharedBridgeSet(address sharedBridge);

    error OnlyOwner(address caller);
    error SharedBridgeAlreadySet(address sharedBridge);
    error ChainTypeManagerNotRegistered(address chainTypeManager);
    error ChainIdNotAllowed(uint256 chainId);
    error ChainAlreadyRegistered(uint256 chainId);
    error ChainNotRegistered(uint256 chainId);
    error MsgValueMismatch(uint256 mintValue, uint256 value);

    modifier onlyOwner() {
        if (msg.sender != owner) revert OnlyOwner(msg.sender);
        _;
    }

    constructor(address owner_) {
        owner = owner_;
    }

    function setSharedBridge(address bridge) external onlyOwner {
        if (sharedBridge != address(0)) revert SharedBridgeAlreadySet(sharedBridge);
        sharedBridge = bridge;
        emit SharedBridgeSet(bridge);
    }

    function addChainTypeManager(address manager) external onlyOwner {
        chainTypeManagerIsRegistered[manager] = true;
        emit ChainTypeManagerAdded(manager);
    }

    /// Register chain `chainId` under `manager`, which deploys its chain contract.
    function createNewChain(uint256 chainId, address manager) external onlyOwner returns (address zkChain) {
        if (!chainTypeManagerIsRegistered[manager]) revert ChainTypeManagerNotRegistered(manager);
        if (chainId == 0 || chainId == block.chainid || chainId > type(uint48).max) revert ChainIdNotAllowed(chainId);
        if (zkChains[chainId] != address(0)) revert ChainAlreadyRegistered(chainId);
        zkChain = IChainTypeManager(manager).createNewChain(chainId);
        zkChains[chainId] = zkChain;
        chainTypeManager[chainId] = manager;
        chainIds.push(chainId);
        emit NewChain(chainId, manager, owner);
    }

    function getAllZKChainChainIDs() external view returns (uint256[] memory) {
        return chainIds;
    }

    function getZKChain(uint256 chainId) external view returns (address) {
        return zkChains[chainId];
    }

    function l2TransactionBaseCost(
        uint256 chainId,
        uint256 gasPrice,
        uint256 l2GasLimit,
        uint256 l2GasPerPubdataByteLimit
    ) external view returns (uint256) {
        return IMailbox(_chain(chainId)).l2TransactionBaseCost(gasPrice, l2GasLimit, l2GasPerPubdataByteLimit);
    }

    /// Deposit `mintValue` ETH (exactly the call value) and request an L2 call; returns the
    /// canonical L2 transaction hash.
    function requestL2TransactionDirect(L2TransactionRequestDirect calldata request)
        external
        payable
        returns (bytes32 canonicalTxHash)
    {
        address zkChain = _chain(request.chainId);
        if (msg.value != request.mintValue) revert MsgValueMismatch(request.mintValue, msg.value);
        ISharedBridge(sharedBridge).bridgehubDepositBaseToken{value: msg.value}(
            request.chainId, msg.sender, request.mintValue
        );
        canonicalTxHash = IMailbox(zkChain).bridgehubRequestL2Transaction(
            BridgehubL2TransactionRequest({
                sender: msg.sender,
                contractL2: request.l2Contract,
                mintValue: request.mintValue,
                l2Value: request.l2Value,
                l2Calldata: request.l2Calldata,
                l2GasLimit: request.l2GasLimit,
                l2GasPerPubdataByteLimit: request.l2GasPerPubdataByteLimit,
                factoryDeps: request.factoryDeps,
                refundRecipient: request.refundRecipient
            })
        );
    }

    function _chain(uint256 chainId) internal view returns (address zkChain) {
        zkChain = zkChains[chainId];
        if (zkChain == address(0)) revert ChainNotRegistered(chainId);
    }
}
