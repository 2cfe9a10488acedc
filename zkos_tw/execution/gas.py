"""Gas constants and the gas rules shared by several instructions (Cancun schedule).

Memory expansion, the 63/64 rule for calls and creates (EIP-150), initcode word cost (EIP-3860)
and the blob gas price (EIP-4844) live here so each instruction module stays about one thing.
"""

from zkos_tw.execution.exceptions import OutOfGas

GAS_JUMPDEST = 1
GAS_BASE = 2
GAS_VERY_LOW = 3
GAS_LOW = 5
GAS_MID = 8
GAS_HIGH = 10
GAS_EXPONENTIATION = 10
GAS_EXPONENTIATION_PER_BYTE = 50
GAS_MEMORY = 3
GAS_KECCAK256 = 30
GAS_KECCAK256_WORD = 6
GAS_COPY = 3
GAS_BLOCK_HASH = 20
GAS_LOG = 375
GAS_LOG_DATA = 8
GAS_LOG_TOPIC = 375
GAS_CREATE = 32000
GAS_CODE_DEPOSIT = 200
GAS_NEW_ACCOUNT = 25000
GAS_CALL_VALUE = 9000
GAS_CALL_STIPEND = 2300
GAS_SELF_DESTRUCT = 5000
GAS_SELF_DESTRUCT_NEW_ACCOUNT = 25000
GAS_COLD_SLOAD = 2100
GAS_COLD_ACCOUNT_ACCESS = 2600
GAS_WARM_ACCESS = 100
GAS_STORAGE_SET = 20000
GAS_STORAGE_UPDATE = 5000
GAS_STORAGE_CLEAR_REFUND = 4800
GAS_INIT_CODE_WORD = 2
GAS_BLOBHASH = 3

TX_BASE_COST = 21000
TX_DATA_COST_PER_ZERO = 4
TX_DATA_COST_PER_NON_ZERO = 16
TX_CREATE_COST = 32000
TX_ACCESS_LIST_ADDRESS_COST = 2400
TX_ACCESS_LIST_STORAGE_KEY_COST = 1900

GAS_PER_BLOB = 2**17
MIN_BLOB_GASPRICE = 1
BLOB_BASE_FEE_UPDATE_FRACTION = 3338477
MAX_BLOB_GAS_PER_BLOCK = 6 * GAS_PER_BLOB

MAX_REFUND_QUOTIENT = 5  # EIP-3529


def charge_gas(evm, amount: int) -> None:
    """Take ``amount`` gas from the frame or halt it with ``OutOfGas``."""
    if evm.gas_left < amount:
        raise OutOfGas
    evm.gas_left -= amount


def memory_cost(words: int) -> int:
    """Total gas paid for a memory of ``words`` 32-byte words."""
    return GAS_MEMORY * words + words * words // 512


def memory_extension(memory: bytearray, start: int, size: int) -> tuple[int, int]:
    """``(gas, bytes_to_add)`` for touching ``size`` bytes at ``start``; nothing when size is 0."""
    if size == 0:
        return 0, 0
    current = len(memory)
    end = start + size
    if end <= current:
        return 0, 0
    new_words = (end + 31) >> 5
    old_words = current >> 5
    return memory_cost(new_words) - memory_cost(old_words), new_words * 32 - current


def memory_extension_many(memory: bytearray, regions) -> tuple[int, int]:
    """Like ``memory_extension`` for several ``(start, size)`` regions at once (CALL, MCOPY)."""
    end = 0
    for start, size in regions:
        if size and start + size > end:
            end = start + size
    current = len(memory)
    if end <= current:
        return 0, 0
    new_words = (end + 31) >> 5
    return memory_cost(new_words) - memory_cost(current >> 5), new_words * 32 - current


def words(size: int) -> int:
    """Number of 32-byte words needed for ``size`` bytes."""
    return (size + 31) >> 5


def max_message_call_gas(gas: int) -> int:
    """All but one 64th of ``gas`` (EIP-150)."""
    return gas - gas // 64


def message_call_gas(value: int, gas: int, gas_left: int, memory_gas: int, extra_gas: int):
    """``(cost, gas_for_child)`` of a CALL-family instruction after EIP-150.

    ``cost`` is what the caller pays besides memory; ``gas_for_child`` includes the stipend.
    """
    stipend = 0 if value == 0 else GAS_CALL_STIPEND
    if gas_left < extra_gas + memory_gas:
        return gas + extra_gas, gas + stipend
    gas = min(gas, max_message_call_gas(gas_left - memory_gas - extra_gas))
    return gas + extra_gas, gas + stipend


def init_code_cost(size: int) -> int:
    """EIP-3860: 2 gas per 32-byte word of initcode."""
    return GAS_INIT_CODE_WORD * ((size + 31) >> 5)


def fake_exponential(factor: int, numerator: int, denominator: int) -> int:
    """EIP-4844 approximation of ``factor * e ** (numerator / denominator)``."""
    i = 1
    output = 0
    numerator_accumulator = factor * denominator
    while numerator_accumulator > 0:
        output += numerator_accumulator
        numerator_accumulator = (numerator_accumulator * numerator) // (denominator * i)
        i += 1
    return output // denominator


def blob_gas_price(excess_blob_gas: int) -> int:
    """Price of one unit of blob gas for a block with this excess blob gas (EIP-4844)."""
    return fake_exponential(MIN_BLOB_GASPRICE, excess_blob_gas, BLOB_BASE_FEE_UPDATE_FRACTION)
