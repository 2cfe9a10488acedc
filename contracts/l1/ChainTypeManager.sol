// SPDX-License-Identifier: MIT
// The chain type manager: creates ZK chains for the Bridgehub, all with the same validator
// timelock, verifier, protocol version and genesis state.
pragma solidity 0.8.37;

import {ZKChain, ZKChainInit} from "./ZKChain.sol";
import {PubdataPricingMode} from "./ZKChainTypes.sol";

contract ChainTypeManager {
    address public immutable BRIDGE_HUB;
    address public immutable owner;
    address public validatorTimelockPostV29;
    address public verifier;
    uint256 public protocolVersion;
    bytes32 public genesisStateCommitment;
    mapping(uint256 => address) public getZKChain;

    event NewZKChain(uint256 indexed chainId, address indexed zkChain);
    event ValidatorTimelockChanged(address oldTimelock, address newTimelock);

    error OnlyBridgehub(address caller);
    error OnlyOwner(address caller);
    error ChainAlreadyExists(uint256 chainId);

    constructor(
        address bridgehub,
        address timelock,
        address verifier_,
        uint256 protocolVersion_,
        bytes32 genesisStateCommitment_
    ) {
        BRIDGE_HUB = bridgehub;
        owner = msg.sender;
        validatorTimelockPostV29 = timelock;
        verifier = verifier_;
        protocolVersion = protocolVersion_;
        genesisStateCommitment = genesisStateCommitment_;
    }

    function setValidatorTimelockPostV29(address timelock) external {
        if (msg.sender != owner) revert OnlyOwner(msg.sender);
        emit ValidatorTimelockChanged(validatorTimelockPostV29, timelock);
        validatorTimelockPostV29 = timelock;
    }

    /// Deploy the chain contract of `chainId` (called by the Bridgehub when it registers a chain).
    function createNewChain(uint256 chainId) external returns (address zkChain) {
        if (msg.sender != BRIDGE_HUB) revert OnlyBridgehub(msg.sender);
        if (getZKChain[chainId] != address(0)) revert ChainAlreadyExists(chainId);
        zkChain = address(
            new ZKChain(
                ZKChainInit({
                    chainId: chainId,
                    bridgehub: BRIDGE_HUB,
                    validatorTimelock: validatorTimelockPostV29,
                    verifier: verifier,
                    protocolVersion: protocolVersion,
                    genesisStateCommitment: genesisStateCommitment,
                    pubdataPricingMode: PubdataPricingMode.Rollup
                })
            )
        );
        getZKChain[chainId] = zkChain;
        emit NewZKChain(chainId, zkChain);
    }
}
