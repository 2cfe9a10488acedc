// SPDX-License-Identifier: MIT
// The shared bridge: holds the base token (ETH) deposited for each chain through the Bridgehub.
// It only accounts deposits; withdrawals (finalizeWithdrawal) are not implemented yet.
pragma solidity 0.8.37;

contract L1SharedBridge {
    address public immutable BRIDGE_HUB;
    /// ETH held for each chain id.
    mapping(uint256 => uint256) public chainBalance;

    event BridgehubDepositBaseTokenInitiated(uint256 indexed chainId, address indexed from, uint256 amount);

    error OnlyBridgehub(address caller);
    error ValueMismatch(uint256 amount, uint256 value);

    constructor(address bridgehub) {
        BRIDGE_HUB = bridgehub;
    }

    function bridgehubDepositBaseToken(uint256 chainId, address from, uint256 amount) external payable {
        if (msg.sender != BRIDGE_HUB) revert OnlyBridgehub(msg.sender);
        if (msg.value != amount) revert ValueMismatch(amount, msg.value);
        chainBalance[chainId] += amount;
        emit BridgehubDepositBaseTokenInitiated(chainId, from, amount);
    }
}
