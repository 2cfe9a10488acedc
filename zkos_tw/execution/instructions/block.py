"""Block instructions (0x40-0x46): header fields of the block being built."""

from zkos_tw.execution.gas import GAS_BASE, GAS_BLOCK_HASH, charge_gas


def block_hash(evm) -> None:
    """BLOCKHASH: hash of one of the 256 previous blocks, else 0."""
    number = evm.stack.pop()
    charge_gas(evm, GAS_BLOCK_HASH)
    current = evm.block_env.number
    lookup = evm.block_env.block_hashes
    if lookup is not None and current - 256 <= number < current:
        evm.stack.append(int.from_bytes(lookup(number), "big"))
    else:
        evm.stack.append(0)
    evm.pc += 1


def coinbase(evm) -> None:
    """COINBASE: the fee recipient."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(int.from_bytes(evm.block_env.coinbase, "big"))
    evm.pc += 1


def timestamp(evm) -> None:
    """TIMESTAMP."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.block_env.timestamp)
    evm.pc += 1


def number(evm) -> None:
    """NUMBER."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.block_env.number)
    evm.pc += 1


def prev_randao(evm) -> None:
    """PREVRANDAO (EIP-4399); DIFFICULTY before Paris."""
    charge_gas(evm, GAS_BASE)
    env = evm.block_env
    evm.stack.append(env.prev_randao if env.fork.prevrandao else env.difficulty)
    evm.pc += 1


def gas_limit(evm) -> None:
    """GASLIMIT: the block gas limit."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.block_env.gas_limit)
    evm.pc += 1


def chain_id(evm) -> None:
    """CHAINID (EIP-1344)."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.block_env.chain_id)
    evm.pc += 1
