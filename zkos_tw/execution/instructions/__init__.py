"""The opcode table: one function per opcode byte, for each fork.

``opcode_table(fork)`` returns a list of 256 callables ``f(frame)``; bytes that are not an
instruction of the fork map to ``invalid``.
"""

from functools import cache

from zkos_tw.execution.forks import Fork
from zkos_tw.execution.instructions import (
    arithmetic,
    bitwise,
    block,
    comparison,
    control_flow,
    environment,
    keccak,
    log,
    memory,
    stack,
    storage,
    system,
)

BASE_OPCODES = {
    0x00: control_flow.stop,
    0x01: arithmetic.add,
    0x02: arithmetic.mul,
    0x03: arithmetic.sub,
    0x04: arithmetic.div,
    0x05: arithmetic.sdiv,
    0x06: arithmetic.mod,
    0x07: arithmetic.smod,
    0x08: arithmetic.addmod,
    0x09: arithmetic.mulmod,
    0x0A: arithmetic.exp,
    0x0B: arithmetic.signextend,
    0x10: comparison.less_than,
    0x11: comparison.greater_than,
    0x12: comparison.signed_less_than,
    0x13: comparison.signed_greater_than,
    0x14: comparison.equal,
    0x15: comparison.is_zero,
    0x16: bitwise.bitwise_and,
    0x17: bitwise.bitwise_or,
    0x18: bitwise.bitwise_xor,
    0x19: bitwise.bitwise_not,
    0x1A: bitwise.get_byte,
    0x1B: bitwise.shift_left,
    0x1C: bitwise.shift_right,
    0x1D: bitwise.shift_arithmetic_right,
    0x20: keccak.keccak,
    0x30: environment.address,
    0x31: environment.balance,
    0x32: environment.origin,
    0x33: environment.caller,
    0x34: environment.callvalue,
    0x35: environment.calldataload,
    0x36: environment.calldatasize,
    0x37: environment.calldatacopy,
    0x38: environment.codesize,
    0x39: environment.codecopy,
    0x3A: environment.gasprice,
    0x3B: environment.extcodesize,
    0x3C: environment.extcodecopy,
    0x3D: environment.returndatasize,
    0x3E: environment.returndatacopy,
    0x3F: environment.extcodehash,
    0x40: block.block_hash,
    0x41: block.coinbase,
    0x42: block.timestamp,
    0x43: block.number,
    0x44: block.prev_randao,
    0x45: block.gas_limit,
    0x46: block.chain_id,
    0x47: environment.self_balance,
    0x48: environment.base_fee,
    0x50: stack.pop,
    0x51: memory.mload,
    0x52: memory.mstore,
    0x53: memory.mstore8,
    0x54: storage.sload,
    0x55: storage.sstore,
    0x56: control_flow.jump,
    0x57: control_flow.jumpi,
    0x58: control_flow.pc,
    0x59: memory.msize,
    0x5A: control_flow.gas_left,
    0x5B: control_flow.jumpdest,
    0xF0: system.create,
    0xF1: system.call,
    0xF2: system.callcode,
    0xF3: system.return_,
    0xF4: system.delegatecall,
    0xF5: system.create2,
    0xFA: system.staticcall,
    0xFD: system.revert,
    0xFE: control_flow.invalid,
    0xFF: system.selfdestruct,
}
for _i in range(32):
    BASE_OPCODES[0x60 + _i] = stack.PUSH[_i]
for _i in range(16):
    BASE_OPCODES[0x80 + _i] = stack.DUP[_i]
    BASE_OPCODES[0x90 + _i] = stack.SWAP[_i]
for _i in range(5):
    BASE_OPCODES[0xA0 + _i] = log.LOG[_i]


@cache
def opcode_table(fork: Fork) -> tuple:
    """The 256-entry dispatch table of ``fork``."""
    opcodes = dict(BASE_OPCODES)
    if fork.push0:
        opcodes[0x5F] = stack.push0
    if fork.transient_storage:
        opcodes[0x5C] = storage.tload
        opcodes[0x5D] = storage.tstore
    if fork.mcopy:
        opcodes[0x5E] = memory.mcopy
    if fork.blobs:
        opcodes[0x49] = environment.blob_hash
        opcodes[0x4A] = environment.blob_base_fee
    return tuple(opcodes.get(byte, control_flow.invalid) for byte in range(256))
