// SPDX-License-Identifier: MIT
// L2 genesis upgrade of zkos-tw chains, deployed at genesis at 0x0000000000000000000000000000000000010001
// (the address ZKsync OS uses for L2GenesisUpgrade).
//
// The chain's first transaction (block 1) is the genesis upgrade transaction (type 0x7e) that the
// L1 chain contract announced in its GenesisUpgrade event: from the force deployer 0x8007, it
// calls genesisUpgrade once, which checks that the L2 runs under the chain id L1 registered and
// records the chain's identity (L2 and L1 chain ids, protocol version, L1 Bridgehub and chain
// contract) for L2 contracts and users to read. Genesis runs no constructor: storage starts empty.
pragma solidity 0.8.37;

contract L2GenesisUpgrade {
    address public constant FORCE_DEPLOYER = address(0x8007);

    uint256 public chainId;
    uint256 public l1ChainId;
    uint256 public protocolVersion;
    address public l1Bridgehub;
    address public l1ChainContract;
    /// The L2 block that ran the upgrade; 0 until then.
    uint256 public upgradedAtBlock;

    event GenesisUpgraded(
        uint256 chainId, uint256 l1ChainId, uint256 protocolVersion, address l1Bridgehub, address l1ChainContract
    );

    error OnlyForceDeployer(address caller);
    error AlreadyUpgraded(uint256 atBlock);
    error WrongChainId(uint256 expected, uint256 got);

    function genesisUpgrade(
        uint256 _chainId,
        uint256 _l1ChainId,
        uint256 _protocolVersion,
        address _l1Bridgehub,
        address _l1ChainContract
    ) external {
        if (msg.sender != FORCE_DEPLOYER) revert OnlyForceDeployer(msg.sender);
        if (upgradedAtBlock != 0) revert AlreadyUpgraded(upgradedAtBlock);
        if (_chainId != block.chainid) revert WrongChainId(block.chainid, _chainId);
        chainId = _chainId;
        l1ChainId = _l1ChainId;
        protocolVersion = _protocolVersion;
        l1Bridgehub = _l1Bridgehub;
        l1ChainContract = _l1ChainContract;
        upgradedAtBlock = block.number;
        emit GenesisUpgraded(_chainId, _l1ChainId, _protocolVersion, _l1Bridgehub, _l1ChainContract);
    }
}
