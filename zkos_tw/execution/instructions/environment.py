"""Environment instructions (0x30-0x3f, 0x47-0x4a): the message, the accounts and the fees.

Account reads pay the EIP-2929 warm/cold price: the first touch of an address in a transaction
costs 2600, later ones 100; a reverted frame forgets what it warmed.
"""

from zkos_tw.execution.exceptions import OutOfBoundsRead
from zkos_tw.execution.gas import (
    GAS_BASE,
    GAS_BLOBHASH,
    GAS_COLD_ACCOUNT_ACCESS,
    GAS_COPY,
    GAS_LOW,
    GAS_VERY_LOW,
    GAS_WARM_ACCESS,
    charge_gas,
    memory_extension,
)
from zkos_tw.execution.message import to_address


def access_account(evm, address: bytes) -> int:
    """Warm ``address`` and return the EIP-2929 gas for touching it."""
    if address in evm.accessed_addresses:
        return GAS_WARM_ACCESS
    evm.accessed_addresses.add(address)
    return GAS_COLD_ACCOUNT_ACCESS


def copy_to_memory(evm, memory_start: int, data: bytes, data_start: int, size: int) -> None:
    """Write ``data[data_start:data_start+size]`` zero-padded to memory (already expanded)."""
    if size:
        chunk = data[data_start : data_start + size]
        if len(chunk) < size:
            chunk = chunk + bytes(size - len(chunk))
        evm.memory[memory_start : memory_start + size] = chunk


def address(evm) -> None:
    """ADDRESS: the executing account."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(int.from_bytes(evm.message.current_target, "big"))
    evm.pc += 1


def balance(evm) -> None:
    """BALANCE: the balance of an account."""
    target = to_address(evm.stack.pop())
    charge_gas(evm, access_account(evm, target))
    evm.stack.append(evm.state.get_balance(target))
    evm.pc += 1


def origin(evm) -> None:
    """ORIGIN: the sender of the transaction."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(int.from_bytes(evm.tx_env.origin, "big"))
    evm.pc += 1


def caller(evm) -> None:
    """CALLER: the account that sent this message."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(int.from_bytes(evm.message.caller, "big"))
    evm.pc += 1


def callvalue(evm) -> None:
    """CALLVALUE: wei sent with this message."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.message.value)
    evm.pc += 1


def calldataload(evm) -> None:
    """CALLDATALOAD: 32 bytes of call data at an offset, zero-padded."""
    stack = evm.stack
    start = stack.pop()
    charge_gas(evm, GAS_VERY_LOW)
    chunk = evm.message.data[start : start + 32]
    stack.append(int.from_bytes(chunk, "big") << (8 * (32 - len(chunk))))
    evm.pc += 1


def calldatasize(evm) -> None:
    """CALLDATASIZE."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(len(evm.message.data))
    evm.pc += 1


def _copy_to_memory_from(evm, source: bytes) -> None:
    """The body of CALLDATACOPY and CODECOPY: pop (memory start, source start, size), charge the
    copy and memory growth, copy zero-padded."""
    stack = evm.stack
    memory_start = stack.pop()
    source_start = stack.pop()
    size = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, memory_start, size)
    charge_gas(evm, GAS_VERY_LOW + GAS_COPY * ((size + 31) >> 5) + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    copy_to_memory(evm, memory_start, source, source_start, size)
    evm.pc += 1


def calldatacopy(evm) -> None:
    """CALLDATACOPY: copy call data to memory, zero-padded."""
    _copy_to_memory_from(evm, evm.message.data)


def codesize(evm) -> None:
    """CODESIZE: size of the running code."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(len(evm.message.code))
    evm.pc += 1


def codecopy(evm) -> None:
    """CODECOPY: copy the running code to memory, zero-padded."""
    _copy_to_memory_from(evm, evm.message.code)


def gasprice(evm) -> None:
    """GASPRICE: the effective gas price of the transaction."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.tx_env.gas_price)
    evm.pc += 1


def extcodesize(evm) -> None:
    """EXTCODESIZE: size of another account's code."""
    target = to_address(evm.stack.pop())
    charge_gas(evm, access_account(evm, target))
    evm.stack.append(len(evm.state.get_code(target)))
    evm.pc += 1


def extcodecopy(evm) -> None:
    """EXTCODECOPY: copy another account's code to memory, zero-padded."""
    stack = evm.stack
    target = to_address(stack.pop())
    memory_start = stack.pop()
    code_start = stack.pop()
    size = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, memory_start, size)
    access_gas = access_account(evm, target)
    charge_gas(evm, access_gas + GAS_COPY * ((size + 31) >> 5) + memory_gas)
    if grow:
        evm.memory += bytes(grow)
    copy_to_memory(evm, memory_start, evm.state.get_code(target), code_start, size)
    evm.pc += 1


def returndatasize(evm) -> None:
    """RETURNDATASIZE (EIP-211): size of the last call's output."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(len(evm.return_data))
    evm.pc += 1


def returndatacopy(evm) -> None:
    """RETURNDATACOPY (EIP-211): copy the last call's output; reading past its end halts."""
    stack = evm.stack
    memory_start = stack.pop()
    data_start = stack.pop()
    size = stack.pop()
    memory_gas, grow = memory_extension(evm.memory, memory_start, size)
    charge_gas(evm, GAS_VERY_LOW + GAS_COPY * ((size + 31) >> 5) + memory_gas)
    if data_start + size > len(evm.return_data):
        raise OutOfBoundsRead
    if grow:
        evm.memory += bytes(grow)
    evm.memory[memory_start : memory_start + size] = evm.return_data[data_start : data_start + size]
    evm.pc += 1


def extcodehash(evm) -> None:
    """EXTCODEHASH (EIP-1052): keccak of an account's code, 0 for a missing or empty account."""
    target = to_address(evm.stack.pop())
    charge_gas(evm, access_account(evm, target))
    state = evm.state
    if not state.account_exists(target) or state.is_empty(target):
        evm.stack.append(0)
    else:
        evm.stack.append(int.from_bytes(state.get_code_hash(target), "big"))
    evm.pc += 1


def self_balance(evm) -> None:
    """SELFBALANCE (EIP-1884): balance of the executing account."""
    charge_gas(evm, GAS_LOW)
    evm.stack.append(evm.state.get_balance(evm.message.current_target))
    evm.pc += 1


def base_fee(evm) -> None:
    """BASEFEE (EIP-3198)."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.block_env.base_fee)
    evm.pc += 1


def blob_hash(evm) -> None:
    """BLOBHASH (EIP-4844): the i-th versioned blob hash of the transaction, 0 if none."""
    index = evm.stack.pop()
    charge_gas(evm, GAS_BLOBHASH)
    hashes = evm.tx_env.blob_versioned_hashes
    evm.stack.append(int.from_bytes(hashes[index], "big") if index < len(hashes) else 0)
    evm.pc += 1


def blob_base_fee(evm) -> None:
    """BLOBBASEFEE (EIP-7516): the blob gas price of the block."""
    charge_gas(evm, GAS_BASE)
    evm.stack.append(evm.block_env.blob_gas_price)
    evm.pc += 1
