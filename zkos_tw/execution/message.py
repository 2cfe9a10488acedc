"""Execution context, split by lifetime as in execution-specs.

* ``BlockEnvironment``: fixed for a block (coinbase, number, fees, the state view, the fork).
* ``TransactionEnvironment``: fixed for a transaction (origin, gas price, blob hashes, accounts
  created in it for EIP-6780).
* ``Message``: the input of one call or create (caller, target, value, data, gas, depth).
* ``Frame``: the running state of one message (pc, stack, memory, gas left, logs, refunds).
"""

from __future__ import annotations

from functools import lru_cache

from zkos_tw.execution.forks import CANCUN, Fork

MAX_STACK_DEPTH = 1024
MAX_CODE_SIZE = 0x6000
MAX_INIT_CODE_SIZE = 2 * MAX_CODE_SIZE
CODE_PADDING = bytes(33)


class BlockEnvironment:
    """What every transaction of a block sees: the header fields, the fork and the state view."""

    __slots__ = (
        "state",
        "fork",
        "chain_id",
        "coinbase",
        "number",
        "base_fee",
        "gas_limit",
        "timestamp",
        "prev_randao",
        "difficulty",
        "block_hashes",
        "excess_blob_gas",
        "blob_gas_price",
        "opcodes",
        "precompiles",
        "engine",
    )

    def __init__(
        self,
        state,
        *,
        coinbase: bytes,
        number: int,
        gas_limit: int,
        timestamp: int,
        base_fee: int = 0,
        prev_randao: int = 0,
        difficulty: int = 0,
        chain_id: int = 1,
        block_hashes=None,
        excess_blob_gas: int = 0,
        fork: Fork = CANCUN,
        engine=None,
    ):
        from zkos_tw.execution.gas import blob_gas_price
        from zkos_tw.execution.instructions import opcode_table
        from zkos_tw.execution.precompiles import PRECOMPILES

        self.state = state
        self.fork = fork
        self.chain_id = chain_id
        self.coinbase = coinbase
        self.number = number
        self.base_fee = base_fee
        self.gas_limit = gas_limit
        self.timestamp = timestamp
        self.prev_randao = prev_randao
        self.difficulty = difficulty
        # ``block_hashes(number) -> bytes32`` for the 256 blocks before this one.
        self.block_hashes = block_hashes
        self.excess_blob_gas = excess_blob_gas
        self.blob_gas_price = blob_gas_price(excess_blob_gas)
        self.opcodes = opcode_table(fork)
        self.precompiles = {
            address: function
            for address, function in PRECOMPILES.items()
            if int.from_bytes(address, "big") <= fork.precompile_count
        }
        # The instruction loop of every frame of this block (``engines.by_name``); None: DEFAULT.
        if engine is None:
            from zkos_tw.execution.engines import DEFAULT as engine
        self.engine = engine

    def precompile_addresses(self) -> list[bytes]:
        """The addresses warm at the start of every transaction (EIP-2929)."""
        return [i.to_bytes(20, "big") for i in range(1, self.fork.precompile_count + 1)]


class TransactionEnvironment:
    """What every frame of one transaction sees."""

    __slots__ = ("origin", "gas_price", "blob_versioned_hashes", "created_accounts")

    def __init__(self, origin: bytes, gas_price: int, blob_versioned_hashes=()):
        self.origin = origin
        self.gas_price = gas_price
        self.blob_versioned_hashes = tuple(blob_versioned_hashes)
        # Accounts created in this transaction: SELFDESTRUCT deletes only these (EIP-6780).
        self.created_accounts: set[bytes] = set()


class Message:
    """The input of one call frame. ``target`` is ``None`` for a create."""

    __slots__ = (
        "caller",
        "target",
        "current_target",
        "code_address",
        "code",
        "data",
        "value",
        "gas",
        "depth",
        "should_transfer_value",
        "is_static",
        "accessed_addresses",
        "accessed_storage_keys",
    )

    def __init__(
        self,
        *,
        caller: bytes,
        target: bytes | None,
        current_target: bytes,
        code_address: bytes | None,
        code: bytes,
        data: bytes,
        value: int,
        gas: int,
        depth: int,
        should_transfer_value: bool,
        is_static: bool,
        accessed_addresses: set,
        accessed_storage_keys: set,
    ):
        self.caller = caller
        self.target = target
        self.current_target = current_target
        self.code_address = code_address
        self.code = code
        self.data = data
        self.value = value
        self.gas = gas
        self.depth = depth
        self.should_transfer_value = should_transfer_value
        self.is_static = is_static
        self.accessed_addresses = accessed_addresses
        self.accessed_storage_keys = accessed_storage_keys


class Frame:
    """The running state of one message: what the instructions read and write."""

    __slots__ = (
        "pc",
        "stack",
        "memory",
        "code",
        "gas_left",
        "valid_jump_destinations",
        "logs",
        "refund_counter",
        "running",
        "message",
        "output",
        "accounts_to_delete",
        "touched_accounts",
        "return_data",
        "error",
        "accessed_addresses",
        "accessed_storage_keys",
        "block_env",
        "tx_env",
        "state",
    )

    def __init__(
        self, message: Message, block_env: BlockEnvironment, tx_env: TransactionEnvironment
    ):
        padded_code, jump_destinations = analyse_code(message.code)
        self.pc = 0
        self.stack: list[int] = []
        self.memory = bytearray()
        self.code = padded_code
        self.gas_left = message.gas
        self.valid_jump_destinations = jump_destinations
        self.logs: list = []
        self.refund_counter = 0
        self.running = True
        self.message = message
        self.output = b""
        self.accounts_to_delete: set[bytes] = set()
        self.touched_accounts: set[bytes] = set()
        self.return_data = b""
        self.error = None
        self.accessed_addresses = message.accessed_addresses
        self.accessed_storage_keys = message.accessed_storage_keys
        self.block_env = block_env
        self.tx_env = tx_env
        self.state = block_env.state


@lru_cache(maxsize=512)
def analyse_code(code: bytes) -> tuple[bytes, frozenset]:
    """The code padded with 33 zero bytes (so running off the end reads STOP and PUSH data
    reads zeros) and the set of valid JUMPDEST positions (not inside PUSH data)."""
    destinations = set()
    i = 0
    n = len(code)
    while i < n:
        op = code[i]
        if op == 0x5B:
            destinations.add(i)
        elif 0x60 <= op <= 0x7F:
            i += op - 0x5F
        i += 1
    return code + CODE_PADDING, frozenset(destinations)


def to_address(value: int) -> bytes:
    """The low 160 bits of a stack word as a 20-byte address."""
    return (value & 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF).to_bytes(20, "big")
