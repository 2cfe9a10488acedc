# The opcode tables and code analysis of the compiled EVM loop; included by ext/_evm.pyx.
#
# MODE: how each opcode byte runs for a fork (invalid, in C, or through the pure instruction);
# NEED / STATIC_GAS / GROWS: what the C loop checks before an instruction; _analyse: the padded
# code and jump destination bitmap of a code, computed once.

# How each opcode byte runs: 0 invalid for the fork, 1 in C, 2 through the pure instruction.
DEF MODE_INVALID = 0
DEF MODE_C = 1
DEF MODE_PYTHON = 2
DEF MODE_CALL = 3            # the CALL family, CREATE and CREATE2, set up in C (_evm_calls.pxi)

_NATIVE = (
    set(range(0x00, 0x0C)) | set(range(0x10, 0x1E)) | {0x20}
    | {0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3D, 0x3E}
    | {0x41, 0x42, 0x43, 0x45, 0x46, 0x47, 0x48}
    | set(range(0x50, 0xA5)) | {0xF3, 0xFD}
)

# The CALL family, CREATE and CREATE2 run in C only where the table holds the stock instruction (a tracer's or a
# test's own instruction runs as it is).
_CALLS = {0xF0: _system.create, 0xF5: _system.create2, 0xF1: _system.call, 0xF2: _system.callcode, 0xF4: _system.delegatecall,
          0xFA: _system.staticcall}

# Items an instruction run in C needs on the stack, the gas charged before it runs (the fixed
# part; the instruction charges the rest) and whether it grows the stack by one.
cdef uint8_t NEED[256]
cdef int64_t STATIC_GAS[256]
cdef uint8_t GROWS[256]


def _init_tables():
    need = {0x01: 2, 0x02: 2, 0x03: 2, 0x04: 2, 0x05: 2, 0x06: 2, 0x07: 2, 0x08: 3, 0x09: 3,
            0x0A: 2, 0x0B: 2, 0x10: 2, 0x11: 2, 0x12: 2, 0x13: 2, 0x14: 2, 0x15: 1, 0x16: 2,
            0x17: 2, 0x18: 2, 0x19: 1, 0x1A: 2, 0x1B: 2, 0x1C: 2, 0x1D: 2, 0x20: 2, 0x35: 1,
            0x37: 3, 0x39: 3, 0x3E: 3, 0x50: 1, 0x51: 1, 0x52: 2, 0x53: 2, 0x54: 1, 0x55: 2,
            0x56: 1, 0x57: 2, 0x5C: 1, 0x5D: 2, 0x5E: 3, 0xF3: 2, 0xFD: 2}
    gas = {0x01: 3, 0x02: 5, 0x03: 3, 0x04: 5, 0x05: 5, 0x06: 5, 0x07: 5, 0x08: 8, 0x09: 8,
           0x0A: 10, 0x0B: 5, 0x20: 30, 0x30: 2, 0x32: 2, 0x33: 2, 0x34: 2, 0x35: 3, 0x36: 2,
           0x37: 3, 0x38: 2, 0x39: 3, 0x3A: 2, 0x3D: 2, 0x3E: 3, 0x41: 2, 0x42: 2, 0x43: 2,
           0x45: 2, 0x46: 2, 0x47: 5, 0x48: 2, 0x50: 2, 0x51: 3, 0x52: 3, 0x53: 3, 0x56: 8,
           0x57: 10, 0x58: 2, 0x59: 2, 0x5A: 2, 0x5B: 1, 0x5C: 100, 0x5D: 100, 0x5E: 3,
           0x5F: 2}
    grows = {0x30, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3A, 0x3D, 0x41, 0x42, 0x43, 0x45, 0x46,
             0x47, 0x48, 0x58, 0x59, 0x5A, 0x5F}
    for op in range(0x10, 0x1E):
        gas.setdefault(op, 3)
    for i in range(32):
        gas[0x60 + i] = 3
        grows.add(0x60 + i)
    for i in range(16):
        need[0x80 + i] = i + 1
        gas[0x80 + i] = 3
        grows.add(0x80 + i)
        need[0x90 + i] = i + 2
        gas[0x90 + i] = 3
    for i in range(5):
        need[0xA0 + i] = 2 + i
        gas[0xA0 + i] = 375 + 375 * i
    for op in range(256):
        NEED[op] = need.get(op, 0)
        STATIC_GAS[op] = gas.get(op, 0)
        GROWS[op] = 1 if op in grows else 0


_init_tables()

# opcode table (per fork, from instructions.opcode_table) -> (table, bytes of 256 modes)
cdef dict _MODES = {}
# code -> (code + 33 zero bytes, bitmap of valid jump destinations with 1 byte per code byte)
cdef dict _JUMPDESTS = {}
DEF JUMPDEST_CACHE_SIZE = 4096
# The code object analysed last and its entry: a CALL into the same contract (or a contract
# calling itself) hands the same bytes object each time, and a dict lookup under a key that
# is another object of equal value compares the whole code.
cdef object _LAST_CODE = None
cdef tuple _LAST_ANALYSED = None


cdef bytes _modes(object table):
    cached = _MODES.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    invalid = _control_flow.invalid
    modes = bytearray(256)
    for op in range(256):
        if table[op] is invalid:
            modes[op] = MODE_INVALID
        elif op in _NATIVE:
            modes[op] = MODE_C
        elif _CALLS.get(op) is table[op]:
            modes[op] = MODE_CALL
        else:
            modes[op] = MODE_PYTHON
    result = bytes(modes)
    if len(_MODES) >= 64:  # tables are cached per fork; more means callers build their own
        _MODES.clear()
    _MODES[id(table)] = (table, result)
    return result


cdef tuple _analyse(bytes code):
    """``(padded code, jump destination bitmap)``, computed once per code."""
    global _LAST_CODE, _LAST_ANALYSED
    if code is _LAST_CODE:
        return _LAST_ANALYSED
    cached = _JUMPDESTS.get(code)
    if cached is not None:
        _LAST_CODE = code
        _LAST_ANALYSED = cached
        return cached
    cdef Py_ssize_t n = PyBytes_GET_SIZE(code), i = 0
    cdef const uint8_t *c = <const uint8_t *>PyBytes_AS_STRING(code)
    cdef bytes bitmap = PyBytes_FromStringAndSize(NULL, n)
    cdef uint8_t *b = <uint8_t *>PyBytes_AS_STRING(bitmap)
    cdef bytes padded = PyBytes_FromStringAndSize(NULL, n + 33)
    cdef uint8_t op
    memcpy(PyBytes_AS_STRING(padded), c, n)
    memset(PyBytes_AS_STRING(padded) + n, 0, 33)
    memset(b, 0, n)
    while i < n:
        op = c[i]
        if op == 0x5B:
            b[i] = 1
        elif 0x60 <= op <= 0x7F:
            i += op - 0x5F
        i += 1
    if len(_JUMPDESTS) >= JUMPDEST_CACHE_SIZE:
        _JUMPDESTS.clear()
    result = (padded, bitmap)
    _JUMPDESTS[code] = result
    _LAST_CODE = code
    _LAST_ANALYSED = result
    return result
