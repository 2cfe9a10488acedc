// SPDX-License-Identifier: MIT
// The validator timelock: the only caller the chains' Executor accepts. It forwards commit /
// prove / execute calls from the operators the owner named for each chain and role (commit,
// prove, execute: three distinct keys by default) and refuses everyone else. No delay is applied.
pragma solidity 0.8.37;

interface IExecutor {
    function commitBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external;
    function proveBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external;
    function executeBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external;
}

contract ValidatorTimelock {
    uint8 public constant COMMITTER_ROLE = 1;
    uint8 public constant PROVER_ROLE = 2;
    uint8 public constant EXECUTOR_ROLE = 4;

    address public immutable owner;
    /// chain address => operator => bit set of roles.
    mapping(address => mapping(address => uint8)) public roles;

    event ValidatorRolesSet(address indexed chainAddress, address indexed validator, uint8 roles);

    error OnlyOwner(address caller);
    error NotOperator(address chainAddress, address caller, uint8 role);

    constructor(address owner_) {
        owner = owner_;
    }

    /// Give `validator` exactly the roles in `roleBits` (COMMITTER | PROVER | EXECUTOR) on a chain.
    function setValidatorRoles(address chainAddress, address validator, uint8 roleBits) external {
        if (msg.sender != owner) revert OnlyOwner(msg.sender);
        roles[chainAddress][validator] = roleBits;
        emit ValidatorRolesSet(chainAddress, validator, roleBits);
    }

    function hasRole(address chainAddress, address validator, uint8 role) public view returns (bool) {
        return roles[chainAddress][validator] & role == role;
    }

    function commitBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external {
        _only(chainAddress, COMMITTER_ROLE);
        IExecutor(chainAddress).commitBatchesSharedBridge(chainAddress, from, to, data);
    }

    function proveBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external {
        _only(chainAddress, PROVER_ROLE);
        IExecutor(chainAddress).proveBatchesSharedBridge(chainAddress, from, to, data);
    }

    function executeBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external {
        _only(chainAddress, EXECUTOR_ROLE);
        IExecutor(chainAddress).executeBatchesSharedBridge(chainAddress, from, to, data);
    }

    function _only(address chainAddress, uint8 role) internal view {
        if (!hasRole(chainAddress, msg.sender, role)) revert NotOperator(chainAddress, msg.sender, role);
    }
}
