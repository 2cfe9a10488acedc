// SPDX-License-Identifier: MIT
// Benchmark workload for `zkosctl bench evm`: a plain ERC-20 token whose `transferLoop(n)` mints
// n tokens to itself and then sends one token to each of n fresh addresses through its own
// external `transfer` entry point (one CALL frame, ABI decoding, two balance updates, one cold
// storage write and one Transfer log per iteration: the work of a block of token transfers).
pragma solidity 0.8.37;

contract ERC20Loop {
    string public constant name = "Bench Token";
    string public constant symbol = "BENCH";
    uint8 public constant decimals = 18;

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "ERC20: insufficient allowance");
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    /// Mint `n` tokens to this contract, then transfer one to each of `n` new addresses.
    function transferLoop(uint256 n) external returns (uint256 sent) {
        totalSupply += n;
        balanceOf[address(this)] += n;
        emit Transfer(address(0), address(this), n);
        for (uint256 i = 0; i < n; ++i) {
            require(this.transfer(address(uint160(0x100000 + i)), 1), "transfer failed");
            sent += 1;
        }
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(to != address(0), "ERC20: transfer to the zero address");
        uint256 balance = balanceOf[from];
        require(balance >= value, "ERC20: transfer amount exceeds balance");
        unchecked {
            balanceOf[from] = balance - value;
        }
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
