# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""The compiled twin of ``zkos_tw.execution.interpreter.execute_code`` (the instruction loop).

Loaded through ``zkos_tw.extensions`` by ``zkos_tw.execution.engines``; never import it directly.
``execute_code(message, block_env, tx_env) -> Frame`` returns the same ``Frame`` fields as the
pure loop for every input (gas left, output, error type and arguments, logs, refunds, deletions,
touched accounts, warm sets, state writes).

Design (see docs/execution.md, "The compiled path"):

* the stack is a C array of 256-bit words, four little-endian uint64 limbs each
  (``ext/zkos_u256.h`` holds the arithmetic); gas, pc and the refund counter are C integers;
* memory is the frame's own ``bytearray`` used through its C pointer (no copies, so Python
  instructions see it as it is);
* jump destinations are analysed once per code and cached as a bitmap;
* dispatch is a C switch; arithmetic, stack, memory, jumps, KECCAK256 (``ext/zkos_hash.h``,
  unrolled rounds), SLOAD/SSTORE/TLOAD/TSTORE, LOG and the environment run here;
* storage slots read or written in the frame are kept in a small C map (a repeat SLOAD is warm
  and needs no Python); the map is forgotten whenever an instruction runs in Python;
* the CALL family, CREATE and CREATE2 are set up in C (``ext/_evm_calls.pxi``): gas, warm
  accounts, value, checkpoints and the merge of the child; a child runs on this loop directly
  (or through ``block_env.engine`` when that is not this loop, e.g. a tracer's wrapper) and
  shares its parent's warm sets with a journal of its additions, undone when it fails;
* the rare heavy instructions (SELFDESTRUCT, BALANCE and the other account reads, BLOCKHASH,
  BLOBHASH, ...) run the pure instruction of the fork's table on the same ``Frame``: the top
  stack items, gas, pc and refunds are handed over and read back (a frame sharing its parent's
  warm sets takes its own copies first);
* gas is a C int64 (a frame given 2**63 gas or more, which no transaction can carry, runs on the
  pure loop); memory costs are computed in 128 bits and saturate above any payable amount.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_SetSlice
from cpython.pyport cimport PY_SSIZE_T_MAX
from cpython.set cimport PySet_Add
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memmove, memset

from zkos_tw.execution import exceptions as _exceptions
from zkos_tw.execution.instructions import control_flow as _control_flow
from zkos_tw.execution.instructions import system as _system
from zkos_tw.execution import interpreter as _interpreter
from zkos_tw.execution.interpreter import is_account_alive as _is_account_alive
from zkos_tw.execution.interpreter import execute_code as _pure_execute_code
from zkos_tw.execution.interpreter import run_precompile as _run_precompile
from zkos_tw.execution.message import Frame, Message
from zkos_tw.execution.receipts import Log


# Direct access to the ``__slots__`` of Frame and Message. Setting or reading a slot through
# ``setattr``/``getattr`` costs a type lookup and a descriptor call each (about a tenth of an
# ERC-20 transfer went there); the offsets of the slots are read once from their member
# descriptors, and an object whose type is not exactly Frame / Message (a tracer's own frame)
# goes through getattr and setattr as before.
cdef extern from *:
    """
    #include <structmember.h>
    static inline void zk_slot_set(PyObject *o, Py_ssize_t offset, PyObject *v) {
        PyObject **p = (PyObject **)((char *)o + offset);
        PyObject *old = *p;
        Py_INCREF(v);
        *p = v;
        Py_XDECREF(old);
    }
    static inline PyObject *zk_slot_get(PyObject *o, Py_ssize_t offset) {
        PyObject *v = *(PyObject **)((char *)o + offset);
        if (v == NULL) {
            PyErr_SetString(PyExc_AttributeError, "slot not set");
            return NULL;
        }
        Py_INCREF(v);
        return v;
    }
    static Py_ssize_t zk_slot_offset(PyObject *descr) {
        PyMemberDef *member;
        if (Py_TYPE(descr) != &PyMemberDescr_Type) {
            PyErr_SetString(PyExc_TypeError, "not a __slots__ member");
            return -1;
        }
        member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
            PyErr_SetString(PyExc_TypeError, "not a writable object slot");
            return -1;
        }
        return member->offset;
    }
    """
    void zk_slot_set(object o, Py_ssize_t offset, object v)
    object zk_slot_get(object o, Py_ssize_t offset)
    Py_ssize_t zk_slot_offset(object descr) except -1


cdef type _FRAME = Frame
cdef type _MESSAGE = Message
# offset -> slot name, for the getattr / setattr of other types
cdef dict _FRAME_NAMES = {}
cdef dict _MESSAGE_NAMES = {}


cdef Py_ssize_t _offset(type cls, str name, dict names) except -1:
    cdef Py_ssize_t offset = zk_slot_offset(cls.__dict__[name])
    names[offset] = name
    return offset


cdef Py_ssize_t F_PC = _offset(Frame, "pc", _FRAME_NAMES)
cdef Py_ssize_t F_STACK = _offset(Frame, "stack", _FRAME_NAMES)
cdef Py_ssize_t F_MEMORY = _offset(Frame, "memory", _FRAME_NAMES)
cdef Py_ssize_t F_CODE = _offset(Frame, "code", _FRAME_NAMES)
cdef Py_ssize_t F_GAS_LEFT = _offset(Frame, "gas_left", _FRAME_NAMES)
cdef Py_ssize_t F_VALID_JUMP_DESTINATIONS = _offset(Frame, "valid_jump_destinations", _FRAME_NAMES)
cdef Py_ssize_t F_LOGS = _offset(Frame, "logs", _FRAME_NAMES)
cdef Py_ssize_t F_REFUND_COUNTER = _offset(Frame, "refund_counter", _FRAME_NAMES)
cdef Py_ssize_t F_RUNNING = _offset(Frame, "running", _FRAME_NAMES)
cdef Py_ssize_t F_MESSAGE = _offset(Frame, "message", _FRAME_NAMES)
cdef Py_ssize_t F_OUTPUT = _offset(Frame, "output", _FRAME_NAMES)
cdef Py_ssize_t F_ACCOUNTS_TO_DELETE = _offset(Frame, "accounts_to_delete", _FRAME_NAMES)
cdef Py_ssize_t F_TOUCHED_ACCOUNTS = _offset(Frame, "touched_accounts", _FRAME_NAMES)
cdef Py_ssize_t F_RETURN_DATA = _offset(Frame, "return_data", _FRAME_NAMES)
cdef Py_ssize_t F_ERROR = _offset(Frame, "error", _FRAME_NAMES)
cdef Py_ssize_t F_ACCESSED_ADDRESSES = _offset(Frame, "accessed_addresses", _FRAME_NAMES)
cdef Py_ssize_t F_ACCESSED_STORAGE_KEYS = _offset(Frame, "accessed_storage_keys", _FRAME_NAMES)
cdef Py_ssize_t F_BLOCK_ENV = _offset(Frame, "block_env", _FRAME_NAMES)
cdef Py_ssize_t F_TX_ENV = _offset(Frame, "tx_env", _FRAME_NAMES)
cdef Py_ssize_t F_STATE = _offset(Frame, "state", _FRAME_NAMES)
cdef Py_ssize_t M_CALLER = _offset(Message, "caller", _MESSAGE_NAMES)
cdef Py_ssize_t M_TARGET = _offset(Message, "target", _MESSAGE_NAMES)
cdef Py_ssize_t M_CURRENT_TARGET = _offset(Message, "current_target", _MESSAGE_NAMES)
cdef Py_ssize_t M_CODE_ADDRESS = _offset(Message, "code_address", _MESSAGE_NAMES)
cdef Py_ssize_t M_CODE = _offset(Message, "code", _MESSAGE_NAMES)
cdef Py_ssize_t M_DATA = _offset(Message, "data", _MESSAGE_NAMES)
cdef Py_ssize_t M_VALUE = _offset(Message, "value", _MESSAGE_NAMES)
cdef Py_ssize_t M_GAS = _offset(Message, "gas", _MESSAGE_NAMES)
cdef Py_ssize_t M_DEPTH = _offset(Message, "depth", _MESSAGE_NAMES)
cdef Py_ssize_t M_SHOULD_TRANSFER_VALUE = _offset(Message, "should_transfer_value", _MESSAGE_NAMES)
cdef Py_ssize_t M_IS_STATIC = _offset(Message, "is_static", _MESSAGE_NAMES)
cdef Py_ssize_t M_ACCESSED_ADDRESSES = _offset(Message, "accessed_addresses", _MESSAGE_NAMES)
cdef Py_ssize_t M_ACCESSED_STORAGE_KEYS = _offset(Message, "accessed_storage_keys", _MESSAGE_NAMES)


cdef inline object _fget(object frame, Py_ssize_t offset):
    """``frame.<slot at offset>``."""
    if type(frame) is _FRAME:
        return zk_slot_get(frame, offset)
    return getattr(frame, _FRAME_NAMES[offset])


cdef inline int _fset(object frame, Py_ssize_t offset, object value) except -1:
    """``frame.<slot at offset> = value``."""
    if type(frame) is _FRAME:
        zk_slot_set(frame, offset, value)
    else:
        setattr(frame, _FRAME_NAMES[offset], value)
    return 0


cdef inline object _mget(object message, Py_ssize_t offset):
    """``message.<slot at offset>``."""
    if type(message) is _MESSAGE:
        return zk_slot_get(message, offset)
    return getattr(message, _MESSAGE_NAMES[offset])


cdef extern from "zkos_hash.h" nogil:
    void zk_keccak256(const uint8_t *data, size_t length, uint8_t *out)


cdef extern from "zkos_u256.h":
    int zk_is_zero(const uint64_t *a) nogil
    void zk_set_u64(uint64_t *r, uint64_t v) nogil
    int zk_fits_u64(const uint64_t *a) nogil
    uint64_t zk_clamp(const uint64_t *a, uint64_t big) nogil
    int zk_eq(const uint64_t *a, const uint64_t *b) nogil
    int zk_lt(const uint64_t *a, const uint64_t *b) nogil
    int zk_slt(const uint64_t *a, const uint64_t *b) nogil
    void zk_add(uint64_t *r, const uint64_t *a, const uint64_t *b) nogil
    void zk_sub(uint64_t *r, const uint64_t *a, const uint64_t *b) nogil
    void zk_mul(uint64_t *r, const uint64_t *a, const uint64_t *b) nogil
    void zk_div(uint64_t *r, const uint64_t *a, const uint64_t *b) nogil
    void zk_mod(uint64_t *r, const uint64_t *a, const uint64_t *b) nogil
    void zk_sdiv(uint64_t *r, const uint64_t *a, const uint64_t *b) nogil
    void zk_smod(uint64_t *r, const uint64_t *a, const uint64_t *b) nogil
    void zk_addmod(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *n) nogil
    void zk_mulmod(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *n) nogil
    int zk_bit_length(const uint64_t *a) nogil
    void zk_exp(uint64_t *r, const uint64_t *base, const uint64_t *exponent) nogil
    void zk_shl(uint64_t *r, const uint64_t *a, unsigned shift) nogil
    void zk_shr(uint64_t *r, const uint64_t *a, unsigned shift) nogil
    void zk_sar(uint64_t *r, const uint64_t *a, unsigned shift) nogil
    void zk_signextend(uint64_t *r, const uint64_t *byte_num, const uint64_t *value) nogil
    void zk_byte(uint64_t *r, const uint64_t *index, const uint64_t *word) nogil
    void zk_from_be32(uint64_t *r, const uint8_t *p) nogil
    void zk_to_be32(uint8_t *p, const uint64_t *a) nogil
    void zk_from_be(uint64_t *r, const uint8_t *p, unsigned size) nogil
    int64_t zk_memory_cost(uint64_t words) nogil
    ctypedef unsigned long long zk_u128  # really unsigned __int128 (see zkos_u256.h)
    ctypedef struct zk_slot_cache:
        int count
        int fresh
    ctypedef struct zk_slot_entry:
        uint64_t current[4]
        uint64_t original[4]
    uint8_t ZK_SLOT_ORIGINAL
    void zk_slots_init(zk_slot_cache *c) nogil
    void zk_slots_clear(zk_slot_cache *c) nogil
    zk_slot_entry *zk_slots_find(zk_slot_cache *c, const uint64_t *address, const uint64_t *k,
                                 uint8_t **flags) nogil
    zk_slot_entry *zk_slots_add(zk_slot_cache *c, const uint64_t *address, const uint64_t *k,
                                uint8_t **flags) nogil
    void zk_address_words(uint64_t *r, const uint8_t *p) nogil
    object zk_to_pylong(const uint64_t *a)
    int zk_from_pylong(object v, uint64_t *r) except -1


# Objects built without a Python-level call: ``object.__new__(cls)`` and ``tuple.__new__(Log,
# ...)`` through their type's tp_alloc (what those constructors do for a __slots__ class and a
# tuple subclass), and a LOG's topics tuple straight from the stack words.
cdef extern from *:
    """
    static PyObject *zk_alloc(PyObject *type) {
        PyTypeObject *t = (PyTypeObject *)type;
        return t->tp_alloc(t, 0);
    }
    static PyObject *zk_tuple3(PyObject *type, PyObject *a, PyObject *b, PyObject *c) {
        PyTypeObject *t = (PyTypeObject *)type;
        PyObject *r = t->tp_alloc(t, 3);
        if (r == NULL) return NULL;
        Py_INCREF(a); PyTuple_SET_ITEM(r, 0, a);
        Py_INCREF(b); PyTuple_SET_ITEM(r, 1, b);
        Py_INCREF(c); PyTuple_SET_ITEM(r, 2, c);
        return r;
    }
    /* topics[i] = the 32-byte big-endian form of the word at first - 4 * i */
    static PyObject *zk_topics(const uint64_t *first, int n) {
        PyObject *r = PyTuple_New(n);
        int i;
        if (r == NULL) return NULL;
        for (i = 0; i < n; i++) {
            PyObject *topic = PyBytes_FromStringAndSize(NULL, 32);
            if (topic == NULL) { Py_DECREF(r); return NULL; }
            zk_to_be32((uint8_t *)PyBytes_AS_STRING(topic), first - 4 * i);
            PyTuple_SET_ITEM(r, i, topic);
        }
        return r;
    }
    """
    object zk_alloc(object type)
    object zk_tuple3(object type, object a, object b, object c)
    object zk_topics(const uint64_t *first, int n)


# Gas is an int64 (a frame given 2**63 or more runs on the pure loop). Costs are uint64: memory
# offsets and sizes are clamped to CLAMP = 2**42, past which the memory cost alone exceeds
# 2**63 gas, and a memory cost of 2**63 or more is reported as TOO_MUCH_GAS (2**63), which no
# frame can pay; sums of costs stay below 2**64.
cdef extern from *:
    """
    #define ZK_GAS_CEILING (0x7FFFFFFFFFFFFFFFLL)
    #define ZK_CLAMP (1ULL << 42)
    #define ZK_TOO_MUCH_GAS (1ULL << 63)
    """
    int64_t GAS_CEILING "ZK_GAS_CEILING"
    uint64_t CLAMP "ZK_CLAMP"
    uint64_t TOO_MUCH_GAS "ZK_TOO_MUCH_GAS"
DEF STACK_LIMIT = 1024
DEF FALLBACK_ITEMS = 7       # the most items a Python-run instruction pops (CALL)

# Outcomes of the C loop.
DEF DONE = 0
DEF REVERTED = 1
DEF OUT_OF_GAS = 2
DEF UNDERFLOW = 3
DEF OVERFLOW = 4
DEF INVALID_OPCODE = 5
DEF BAD_JUMP = 6
DEF STATIC_WRITE = 7
DEF OUT_OF_BOUNDS = 8

include "_evm_tables.pxi"


cdef inline uint64_t _memory_gas(uint64_t msize, uint64_t offset, uint64_t size) noexcept nogil:
    """Gas to grow a memory of ``msize`` bytes to cover [offset, offset + size); 0 if size is 0.
    ``offset`` and ``size`` are clamped to CLAMP."""
    cdef uint64_t end, new_words
    cdef zk_u128 total
    if size == 0:
        return 0
    end = offset + size
    if end <= msize:
        return 0
    new_words = (end + 31) >> 5
    total = <zk_u128>new_words * new_words / 512 + 3 * <zk_u128>new_words
    total -= <zk_u128>zk_memory_cost(msize >> 5)
    if total >= TOO_MUCH_GAS:
        return TOO_MUCH_GAS
    return <uint64_t>total


cdef inline int _grow(bytearray memory, uint64_t msize, uint64_t offset, uint64_t size) except -1:
    """Grow ``memory`` (already paid for) to cover [offset, offset + size)."""
    cdef uint64_t end, new_size
    if size == 0:
        return 0
    end = offset + size
    if end <= msize:
        return 0
    new_size = ((end + 31) >> 5) << 5
    PyByteArray_Resize(memory, <Py_ssize_t>new_size)
    memset(<uint8_t *>PyByteArray_AS_STRING(memory) + msize, 0, new_size - msize)
    return 0


cdef inline void _copy_padded(uint8_t *dest, const uint8_t *source, uint64_t source_size,
                              uint64_t start, uint64_t size) noexcept nogil:
    """dest[0:size] = source[start:start + size], zero-padded past the end of source."""
    cdef uint64_t available = 0
    if start < source_size:
        available = source_size - start
        if available > size:
            available = size
        memcpy(dest, source + start, available)
    if available < size:
        memset(dest + available, 0, size - available)


cdef inline bytes _as_bytes(object value):
    """``value`` itself when it is ``bytes`` (the usual case), else ``bytes(value)``."""
    return value if type(value) is bytes else bytes(value)


cdef inline int _push_address(uint64_t *r, object address) except -1:
    """The word of a 20-byte address (any bytes-like object)."""
    cdef bytes raw = _as_bytes(address)
    if PyBytes_GET_SIZE(raw) == 20:
        zk_from_be(r, <const uint8_t *>PyBytes_AS_STRING(raw), 20)
    else:
        zk_from_pylong(int.from_bytes(raw, "big") & ((1 << 256) - 1), r)
    return 0


cdef inline uint64_t words(uint64_t size) noexcept nogil:
    return (size + 31) >> 5


cdef class _Loop:
    """The C state of one frame while it runs."""

    cdef uint64_t *stack
    # The storage cache of this loop's call tree (see _run): ``own_slots`` is the map this loop
    # allocated, ``slots`` the one it uses (its own when it runs the outermost compiled frame,
    # else its parent's).
    cdef zk_slot_cache *own_slots
    cdef zk_slot_cache *slots
    # Run by _call or _create as a child: nobody reads the Frame's stack afterwards.
    cdef bint child
    cdef int sp
    cdef int64_t gas
    cdef int64_t refund
    cdef Py_ssize_t pc
    cdef int error_argument
    # Journaled warm sets: a child frame run by _call shares its parent's accessed_addresses
    # and accessed_storage_keys and lists here what it added to them, so that a failed child
    # can be undone without copying the sets at every call. None: the frame owns its sets.
    cdef list journal_addresses
    cdef list journal_keys
    # The lists the journals use when this loop runs a child (kept, emptied on release).
    cdef list own_addresses
    cdef list own_keys
    # block_env.precompiles, block_env.opcodes and its modes, read once per call tree (a child
    # run by _call or _create gets its parent's).
    cdef object precompiles
    cdef object table
    cdef bytes modes

    def __cinit__(self):
        self.stack = <uint64_t *>malloc((STACK_LIMIT + 2) * 32)
        self.own_slots = NULL  # allocated by the first outermost frame (about 200 KiB)
        self.slots = NULL
        self.own_addresses = []
        self.own_keys = []
        if self.stack == NULL:
            raise MemoryError

    def __dealloc__(self):
        free(self.stack)
        free(self.own_slots)


# Loops of finished frames, reused (the stack and the slot map stay allocated).
cdef list _FREE_LOOPS = []
DEF FREE_LOOPS_KEPT = 64


cdef inline _Loop _acquire_loop():
    if _FREE_LOOPS:
        return <_Loop>_FREE_LOOPS.pop()
    return _Loop()


cdef inline void _release_loop(_Loop loop):
    loop.journal_addresses = None
    loop.journal_keys = None
    if loop.own_addresses:
        del loop.own_addresses[:]
    if loop.own_keys:
        del loop.own_keys[:]
    loop.precompiles = None
    loop.table = None
    loop.modes = None
    loop.slots = NULL
    loop.child = False
    if len(_FREE_LOOPS) < FREE_LOOPS_KEPT:
        _FREE_LOOPS.append(loop)


cdef int _unshare(_Loop loop, object evm, object message) except -1:
    """Give a frame that shares its parent's warm sets its own copies, and take its additions
    back out of the parent's (before an instruction that runs in Python: it adds without the
    journal)."""
    cdef object addresses = _fget(evm, F_ACCESSED_ADDRESSES)
    cdef object keys = _fget(evm, F_ACCESSED_STORAGE_KEYS)
    own_addresses = addresses.copy()
    own_keys = keys.copy()
    addresses.difference_update(loop.journal_addresses)
    keys.difference_update(loop.journal_keys)
    _fset(evm, F_ACCESSED_ADDRESSES, own_addresses)
    message.accessed_addresses = own_addresses
    _fset(evm, F_ACCESSED_STORAGE_KEYS, own_keys)
    message.accessed_storage_keys = own_keys
    loop.journal_addresses = None
    loop.journal_keys = None
    return 0


include "_evm_calls.pxi"


cdef int _run(_Loop loop, object evm, object message, object block_env, object tx_env,
              const uint8_t *modes, object table) except -1:
    """Run the frame; return DONE, REVERTED or an exceptional outcome. Python exceptions from
    instructions run in Python propagate (the Frame is up to date when they do)."""
    cdef uint64_t *stk = loop.stack
    cdef zk_slot_cache *slots = loop.slots
    cdef zk_slot_entry *entry
    cdef uint8_t *flags
    cdef uint64_t target_words[3]
    cdef uint64_t original_words[4]
    cdef uint64_t current_words[4]
    cdef int sp = 0
    cdef int64_t gas = _mget(message, M_GAS)
    cdef int64_t refund = 0
    cdef Py_ssize_t pc = 0
    cdef uint64_t cost
    cdef bytes message_code = _as_bytes(_mget(message, M_CODE))
    cdef Py_ssize_t code_size = PyBytes_GET_SIZE(message_code)
    cdef tuple analysed = _analyse(message_code)
    cdef bytes code_object = analysed[0]
    cdef const uint8_t *code = <const uint8_t *>PyBytes_AS_STRING(code_object)
    cdef bytes jumpdest_map = analysed[1]
    cdef const uint8_t *jumpdest = <const uint8_t *>PyBytes_AS_STRING(jumpdest_map)
    cdef bytearray memory = _fget(evm, F_MEMORY)
    cdef uint8_t *mem = <uint8_t *>PyByteArray_AS_STRING(memory)
    cdef uint64_t msize = <uint64_t>PyByteArray_GET_SIZE(memory)
    cdef bytes data = _as_bytes(_mget(message, M_DATA))
    cdef const uint8_t *data_ptr = <const uint8_t *>PyBytes_AS_STRING(data)
    cdef uint64_t data_size = <uint64_t>PyBytes_GET_SIZE(data)
    cdef bint is_static = _mget(message, M_IS_STATIC)
    cdef object target = _mget(message, M_CURRENT_TARGET)
    cdef object state = _fget(evm, F_STATE)
    cdef object accessed_storage_keys = _fget(evm, F_ACCESSED_STORAGE_KEYS)
    cdef list journal_keys = loop.journal_keys
    if type(target) is bytes and PyBytes_GET_SIZE(target) == 20:
        zk_address_words(target_words, <const uint8_t *>PyBytes_AS_STRING(target))
    else:
        slots = NULL            # not a plain address: no storage cache for this frame
        if loop.slots != NULL:
            loop.slots.fresh = 0    # and this frame's writes pass the tree's cache
    cdef uint64_t *a
    cdef uint64_t *b
    cdef uint64_t *c
    cdef uint64_t tmp[4]
    cdef uint64_t offset, size, source
    cdef uint8_t digest[32]
    cdef int op, n, i, mode, outcome = DONE
    cdef unsigned shift
    cdef object key, value, original, current, items, slot, return_data
    cdef bytes output

    while True:
        op = code[pc]
        mode = modes[op]
        if mode == MODE_C:
            if sp < NEED[op]:
                outcome = UNDERFLOW
                break
            cost = STATIC_GAS[op]
            if <uint64_t>gas < cost:
                outcome = OUT_OF_GAS
                break
            gas -= <int64_t>cost
            if GROWS[op] and sp >= STACK_LIMIT:
                outcome = OVERFLOW
                break
            a = stk + 4 * (sp - 1)      # the top item
            b = a - 4                   # the one below
            if op >= 0x60:
                if op < 0x80:           # PUSH1..PUSH32
                    n = op - 0x5F
                    a += 4
                    if n == 1:
                        zk_set_u64(a, code[pc + 1])
                    else:
                        zk_from_be(a, code + pc + 1, n)
                    sp += 1
                    pc += n + 1
                    continue
                if op < 0x90:           # DUP1..DUP16
                    memcpy(a + 4, stk + 4 * (sp - (op - 0x7F)), 32)
                    sp += 1
                elif op < 0xA0:         # SWAP1..SWAP16
                    c = stk + 4 * (sp - 1 - (op - 0x8F))
                    memcpy(tmp, c, 32)
                    memcpy(c, a, 32)
                    memcpy(a, tmp, 32)
                elif op < 0xA5:         # LOG0..LOG4
                    n = op - 0xA0
                    offset = zk_clamp(a, CLAMP)
                    size = zk_clamp(b, CLAMP)
                    cost = 8 * size + _memory_gas(msize, offset, size)
                    if <uint64_t>gas < cost:
                        outcome = OUT_OF_GAS
                        break
                    gas -= <int64_t>cost
                    items = zk_topics(stk + 4 * (sp - 3), n)
                    sp -= 2 + n
                    if size and offset + size > msize:
                        _grow(memory, msize, offset, size)
                        mem = <uint8_t *>PyByteArray_AS_STRING(memory)
                        msize = <uint64_t>PyByteArray_GET_SIZE(memory)
                    if is_static:
                        outcome = STATIC_WRITE
                        break
                    # Log(...) without the Python-level __new__ of the named tuple
                    _fget(evm, F_LOGS).append(zk_tuple3(
                        Log, target, items,
                        PyBytes_FromStringAndSize(<char *>mem + offset, size) if size else b""))
                else:                   # RETURN, REVERT
                    offset = zk_clamp(a, CLAMP)
                    size = zk_clamp(b, CLAMP)
                    sp -= 2
                    cost = _memory_gas(msize, offset, size)
                    if <uint64_t>gas < cost:
                        outcome = OUT_OF_GAS
                        break
                    gas -= <int64_t>cost
                    if size and offset + size > msize:
                        _grow(memory, msize, offset, size)
                        mem = <uint8_t *>PyByteArray_AS_STRING(memory)
                        msize = <uint64_t>PyByteArray_GET_SIZE(memory)
                    _fset(evm, F_OUTPUT, PyBytes_FromStringAndSize(<char *>mem + offset, size) if size else b"")
                    if op == 0xF3:
                        outcome = DONE
                        pc += 1
                    else:
                        outcome = REVERTED  # REVERT raises before its pc moves on
                    break
                pc += 1
                continue

            if op == 0x00:              # STOP
                pc += 1
                break
            elif op == 0x01:
                zk_add(b, a, b)
                sp -= 1
            elif op == 0x02:
                zk_mul(b, a, b)
                sp -= 1
            elif op == 0x03:
                zk_sub(b, a, b)
                sp -= 1
            elif op == 0x04:
                zk_div(b, a, b)
                sp -= 1
            elif op == 0x05:
                zk_sdiv(b, a, b)
                sp -= 1
            elif op == 0x06:
                zk_mod(b, a, b)
                sp -= 1
            elif op == 0x07:
                zk_smod(b, a, b)
                sp -= 1
            elif op == 0x08:
                zk_addmod(b - 4, a, b, b - 4)
                sp -= 2
            elif op == 0x09:
                zk_mulmod(b - 4, a, b, b - 4)
                sp -= 2
            elif op == 0x0A:            # EXP
                cost = 50 * ((zk_bit_length(b) + 7) >> 3)
                if <uint64_t>gas < cost:
                    outcome = OUT_OF_GAS
                    break
                gas -= <int64_t>cost
                zk_exp(b, a, b)
                sp -= 1
            elif op == 0x0B:
                zk_signextend(b, a, b)
                sp -= 1
            elif op == 0x10:
                zk_set_u64(b, zk_lt(a, b))
                sp -= 1
            elif op == 0x11:
                zk_set_u64(b, zk_lt(b, a))
                sp -= 1
            elif op == 0x12:
                zk_set_u64(b, zk_slt(a, b))
                sp -= 1
            elif op == 0x13:
                zk_set_u64(b, zk_slt(b, a))
                sp -= 1
            elif op == 0x14:
                zk_set_u64(b, zk_eq(a, b))
                sp -= 1
            elif op == 0x15:
                zk_set_u64(a, zk_is_zero(a))
            elif op == 0x16:
                b[0] &= a[0]; b[1] &= a[1]; b[2] &= a[2]; b[3] &= a[3]
                sp -= 1
            elif op == 0x17:
                b[0] |= a[0]; b[1] |= a[1]; b[2] |= a[2]; b[3] |= a[3]
                sp -= 1
            elif op == 0x18:
                b[0] ^= a[0]; b[1] ^= a[1]; b[2] ^= a[2]; b[3] ^= a[3]
                sp -= 1
            elif op == 0x19:
                a[0] = ~a[0]; a[1] = ~a[1]; a[2] = ~a[2]; a[3] = ~a[3]
            elif op == 0x1A:
                zk_byte(b, a, b)
                sp -= 1
            elif op == 0x1B:
                zk_shl(b, b, <unsigned>zk_clamp(a, 256))
                sp -= 1
            elif op == 0x1C:
                zk_shr(b, b, <unsigned>zk_clamp(a, 256))
                sp -= 1
            elif op == 0x1D:
                zk_sar(b, b, <unsigned>zk_clamp(a, 256))
                sp -= 1
            elif op == 0x20:            # KECCAK256
                offset = zk_clamp(a, CLAMP)
                size = zk_clamp(b, CLAMP)
                cost = 6 * words(size) + _memory_gas(msize, offset, size)
                if <uint64_t>gas < cost:
                    outcome = OUT_OF_GAS
                    break
                gas -= <int64_t>cost
                if size and offset + size > msize:
                    _grow(memory, msize, offset, size)
                    mem = <uint8_t *>PyByteArray_AS_STRING(memory)
                    msize = <uint64_t>PyByteArray_GET_SIZE(memory)
                zk_keccak256(mem + offset if size else <uint8_t *>b"", size, digest)
                zk_from_be32(b, digest)
                sp -= 1
            elif op == 0x30:            # ADDRESS
                _push_address(a + 4, target)
                sp += 1
            elif op == 0x32:            # ORIGIN
                _push_address(a + 4, tx_env.origin)
                sp += 1
            elif op == 0x33:            # CALLER
                _push_address(a + 4, _mget(message, M_CALLER))
                sp += 1
            elif op == 0x34:            # CALLVALUE
                zk_from_pylong(_mget(message, M_VALUE), a + 4)
                sp += 1
            elif op == 0x35:            # CALLDATALOAD
                offset = zk_clamp(a, CLAMP)
                _copy_padded(digest, data_ptr, data_size, offset, 32)
                zk_from_be32(a, digest)
            elif op == 0x36:            # CALLDATASIZE
                zk_set_u64(a + 4, data_size)
                sp += 1
            elif op == 0x37 or op == 0x39 or op == 0x3E:  # CALLDATACOPY CODECOPY RETURNDATACOPY
                offset = zk_clamp(a, CLAMP)
                source = zk_clamp(b, CLAMP)
                size = zk_clamp(b - 4, CLAMP)
                sp -= 3
                cost = 3 * words(size) + _memory_gas(msize, offset, size)
                if <uint64_t>gas < cost:
                    outcome = OUT_OF_GAS
                    break
                gas -= <int64_t>cost
                if op == 0x3E:
                    return_data = _as_bytes(_fget(evm, F_RETURN_DATA))
                    if source + size > <uint64_t>PyBytes_GET_SIZE(return_data):
                        outcome = OUT_OF_BOUNDS
                        break
                if size and offset + size > msize:
                    _grow(memory, msize, offset, size)
                    mem = <uint8_t *>PyByteArray_AS_STRING(memory)
                    msize = <uint64_t>PyByteArray_GET_SIZE(memory)
                if size:
                    if op == 0x37:
                        _copy_padded(mem + offset, data_ptr, data_size, source, size)
                    elif op == 0x39:
                        _copy_padded(mem + offset, <const uint8_t *>PyBytes_AS_STRING(message_code),
                                     <uint64_t>code_size, source, size)
                    else:
                        memcpy(mem + offset, <const uint8_t *>PyBytes_AS_STRING(return_data) + source,
                               size)
            elif op == 0x38:            # CODESIZE
                zk_set_u64(a + 4, <uint64_t>code_size)
                sp += 1
            elif op == 0x3A:            # GASPRICE
                zk_from_pylong(tx_env.gas_price, a + 4)
                sp += 1
            elif op == 0x3D:            # RETURNDATASIZE
                zk_set_u64(a + 4, <uint64_t>len(_fget(evm, F_RETURN_DATA)))
                sp += 1
            elif op == 0x41:            # COINBASE
                _push_address(a + 4, block_env.coinbase)
                sp += 1
            elif op == 0x42:
                zk_from_pylong(block_env.timestamp, a + 4)
                sp += 1
            elif op == 0x43:
                zk_from_pylong(block_env.number, a + 4)
                sp += 1
            elif op == 0x45:
                zk_from_pylong(block_env.gas_limit, a + 4)
                sp += 1
            elif op == 0x46:
                zk_from_pylong(block_env.chain_id, a + 4)
                sp += 1
            elif op == 0x47:            # SELFBALANCE
                zk_from_pylong(state.get_balance(target), a + 4)
                sp += 1
            elif op == 0x48:
                zk_from_pylong(block_env.base_fee, a + 4)
                sp += 1
            elif op == 0x50:            # POP
                sp -= 1
            elif op == 0x51 or op == 0x52 or op == 0x53:  # MLOAD MSTORE MSTORE8
                offset = zk_clamp(a, CLAMP)
                size = 1 if op == 0x53 else 32
                cost = _memory_gas(msize, offset, size)
                if <uint64_t>gas < cost:
                    outcome = OUT_OF_GAS
                    break
                gas -= <int64_t>cost
                if offset + size > msize:
                    _grow(memory, msize, offset, size)
                    mem = <uint8_t *>PyByteArray_AS_STRING(memory)
                    msize = <uint64_t>PyByteArray_GET_SIZE(memory)
                if op == 0x51:
                    zk_from_be32(a, mem + offset)
                elif op == 0x52:
                    zk_to_be32(mem + offset, b)
                    sp -= 2
                else:
                    mem[offset] = <uint8_t>(b[0] & 0xFF)
                    sp -= 2
            elif op == 0x54:            # SLOAD
                # A slot in the storage cache is warm and its value is known.
                if slots != NULL:
                    entry = zk_slots_find(slots, target_words, a, &flags)
                    if entry != NULL:
                        if gas < 100:
                            outcome = OUT_OF_GAS
                            break
                        gas -= 100
                        memcpy(a, entry.current, 32)
                        pc += 1
                        continue
                memcpy(tmp, a, 32)
                key = zk_to_pylong(a)
                slot = (target, key)
                if slot in accessed_storage_keys:
                    cost = 100
                else:
                    accessed_storage_keys.add(slot)
                    if journal_keys is not None:
                        journal_keys.append(slot)
                    cost = 2100
                if <uint64_t>gas < cost:
                    outcome = OUT_OF_GAS
                    break
                gas -= <int64_t>cost
                zk_from_pylong(state.get_storage(target, key), a)
                if slots != NULL:
                    entry = zk_slots_add(slots, target_words, tmp, &flags)
                    memcpy(entry.current, a, 32)
                    if slots.fresh:     # not written in the transaction: the original too
                        memcpy(entry.original, a, 32)
                        flags[0] |= ZK_SLOT_ORIGINAL
            elif op == 0x55:            # SSTORE
                sp -= 2
                if gas <= 2300:
                    outcome = OUT_OF_GAS
                    break
                cost = 0
                key = None
                entry = NULL
                if slots != NULL:
                    entry = zk_slots_find(slots, target_words, a, &flags)
                if entry != NULL:       # warm, and its current value is known
                    memcpy(current_words, entry.current, 32)
                    if flags[0] & ZK_SLOT_ORIGINAL:
                        memcpy(original_words, entry.original, 32)
                    else:
                        key = zk_to_pylong(a)
                        zk_from_pylong(state.get_original_storage(target, key), original_words)
                else:
                    key = zk_to_pylong(a)
                    zk_from_pylong(state.get_storage(target, key), current_words)
                    if slots != NULL and slots.fresh:
                        memcpy(original_words, current_words, 32)
                    else:
                        zk_from_pylong(state.get_original_storage(target, key), original_words)
                    slot = (target, key)
                    if slot not in accessed_storage_keys:
                        accessed_storage_keys.add(slot)
                        if journal_keys is not None:
                            journal_keys.append(slot)
                        cost += 2100
                if zk_eq(original_words, current_words) and not zk_eq(current_words, b):
                    cost += 20000 if zk_is_zero(original_words) else 2900
                else:
                    cost += 100
                if not zk_eq(current_words, b):
                    if (not zk_is_zero(original_words) and not zk_is_zero(current_words)
                            and zk_is_zero(b)):
                        refund += 4800
                    if not zk_is_zero(original_words) and zk_is_zero(current_words):
                        refund -= 4800
                    if zk_eq(original_words, b):
                        refund += 19900 if zk_is_zero(original_words) else 2800
                if <uint64_t>gas < cost:
                    outcome = OUT_OF_GAS
                    break
                gas -= <int64_t>cost
                if is_static:
                    outcome = STATIC_WRITE
                    break
                if key is None:
                    key = zk_to_pylong(a)
                state.set_storage(target, key, zk_to_pylong(b))
                if slots != NULL:
                    entry = zk_slots_add(slots, target_words, a, &flags)
                    memcpy(entry.current, b, 32)
                    memcpy(entry.original, original_words, 32)
                    flags[0] |= ZK_SLOT_ORIGINAL
            elif op == 0x56:            # JUMP
                if not zk_fits_u64(a) or a[0] >= <uint64_t>code_size or not jumpdest[a[0]]:
                    outcome = BAD_JUMP
                    break
                pc = <Py_ssize_t>a[0]
                sp -= 1
                continue
            elif op == 0x57:            # JUMPI
                sp -= 2
                if not zk_is_zero(b):
                    if not zk_fits_u64(a) or a[0] >= <uint64_t>code_size or not jumpdest[a[0]]:
                        outcome = BAD_JUMP
                        break
                    pc = <Py_ssize_t>a[0]
                    continue
            elif op == 0x58:            # PC
                zk_set_u64(a + 4, <uint64_t>pc)
                sp += 1
            elif op == 0x59:            # MSIZE
                zk_set_u64(a + 4, msize)
                sp += 1
            elif op == 0x5A:            # GAS
                zk_set_u64(a + 4, <uint64_t>gas)
                sp += 1
            elif op == 0x5B:            # JUMPDEST
                pass
            elif op == 0x5C:            # TLOAD
                zk_from_pylong(state.get_transient_storage(target, zk_to_pylong(a)), a)
            elif op == 0x5D:            # TSTORE
                sp -= 2
                if is_static:
                    outcome = STATIC_WRITE
                    break
                state.set_transient_storage(target, zk_to_pylong(a), zk_to_pylong(b))
            elif op == 0x5E:            # MCOPY
                offset = zk_clamp(a, CLAMP)
                source = zk_clamp(b, CLAMP)
                size = zk_clamp(b - 4, CLAMP)
                sp -= 3
                cost = 3 * words(size) + _memory_gas(
                    msize, offset if offset > source else source, size)
                if <uint64_t>gas < cost:
                    outcome = OUT_OF_GAS
                    break
                gas -= <int64_t>cost
                if size:
                    if offset > source:
                        _grow(memory, msize, offset, size)
                    else:
                        _grow(memory, msize, source, size)
                    mem = <uint8_t *>PyByteArray_AS_STRING(memory)
                    msize = <uint64_t>PyByteArray_GET_SIZE(memory)
                    memmove(mem + offset, mem + source, size)
            elif op == 0x5F:            # PUSH0
                zk_set_u64(a + 4, 0)
                sp += 1
            pc += 1
        elif mode == MODE_CALL:
            if op == 0xF1 or op == 0xF2:
                n = 7
            elif op == 0xF0:
                n = 3
            elif op == 0xF5:
                n = 4
            else:
                n = 6
            if sp < n:
                outcome = UNDERFLOW
                break
            if op == 0xF0 or op == 0xF5:
                outcome = _create(loop, evm, message, op, stk + 4 * (sp - 1), &gas, &refund,
                                  msize)
            else:
                outcome = _call(loop, evm, message, op, stk + 4 * (sp - 1), &gas, &refund,
                                msize)
            if outcome != DONE:
                break
            sp -= n - 1
            memory = _fget(evm, F_MEMORY)
            mem = <uint8_t *>PyByteArray_AS_STRING(memory)
            msize = <uint64_t>PyByteArray_GET_SIZE(memory)
            pc += 1
        elif mode == MODE_PYTHON:
            # Hand the frame to the pure instruction: the top items, gas, pc and refunds.
            n = sp if sp < FALLBACK_ITEMS else FALLBACK_ITEMS
            items = [zk_to_pylong(stk + 4 * (sp - n + i)) for i in range(n)]
            sp -= n
            _fset(evm, F_STACK, items)
            if journal_keys is not None:
                _unshare(loop, evm, message)
                accessed_storage_keys = _fget(evm, F_ACCESSED_STORAGE_KEYS)
                journal_keys = None
            if loop.slots != NULL:
                zk_slots_clear(loop.slots)  # the instruction may change storage behind it
            _fset(evm, F_GAS_LEFT, gas)
            _fset(evm, F_PC, pc)
            _fset(evm, F_REFUND_COUNTER, refund)
            loop.sp = sp
            table[op](evm)
            n = len(items)
            if sp + n > STACK_LIMIT:
                outcome = OVERFLOW
                gas = _fget(evm, F_GAS_LEFT)
                break
            for i in range(n):
                zk_from_pylong(items[i], stk + 4 * (sp + i))
            sp += n
            gas = _fget(evm, F_GAS_LEFT)
            pc = _fget(evm, F_PC)
            refund = _fget(evm, F_REFUND_COUNTER)
            memory = _fget(evm, F_MEMORY)
            mem = <uint8_t *>PyByteArray_AS_STRING(memory)
            msize = <uint64_t>PyByteArray_GET_SIZE(memory)
            if not _fget(evm, F_RUNNING):
                break
        else:
            outcome = INVALID_OPCODE
            loop.error_argument = op
            break

    loop.sp = sp
    loop.gas = gas
    loop.refund = refund
    loop.pc = pc
    # The stack as the pure loop leaves it (tests and tools read it; _call does not).
    if not loop.child:
        _fset(evm, F_STACK, [zk_to_pylong(stk + 4 * i) for i in range(sp)])
    return outcome


cdef object _new_frame(object message, object block_env, object tx_env):
    """A ``Frame`` like ``Frame(message, block_env, tx_env)`` without its Python code analysis
    (the loop has its own): ``code`` is the padded code, ``valid_jump_destinations`` None."""
    cdef object evm = zk_alloc(Frame)
    cdef bytes code = _as_bytes(_mget(message, M_CODE))
    zk_slot_set(evm, F_PC, 0)
    zk_slot_set(evm, F_STACK, [])
    zk_slot_set(evm, F_MEMORY, bytearray())
    zk_slot_set(evm, F_CODE, _analyse(code)[0])
    zk_slot_set(evm, F_GAS_LEFT, _mget(message, M_GAS))
    zk_slot_set(evm, F_VALID_JUMP_DESTINATIONS, None)
    zk_slot_set(evm, F_LOGS, [])
    zk_slot_set(evm, F_REFUND_COUNTER, 0)
    zk_slot_set(evm, F_RUNNING, True)
    zk_slot_set(evm, F_MESSAGE, message)
    zk_slot_set(evm, F_OUTPUT, b"")
    zk_slot_set(evm, F_ACCOUNTS_TO_DELETE, set())
    zk_slot_set(evm, F_TOUCHED_ACCOUNTS, set())
    zk_slot_set(evm, F_RETURN_DATA, b"")
    zk_slot_set(evm, F_ERROR, None)
    zk_slot_set(evm, F_ACCESSED_ADDRESSES, _mget(message, M_ACCESSED_ADDRESSES))
    zk_slot_set(evm, F_ACCESSED_STORAGE_KEYS, _mget(message, M_ACCESSED_STORAGE_KEYS))
    zk_slot_set(evm, F_BLOCK_ENV, block_env)
    zk_slot_set(evm, F_TX_ENV, tx_env)
    zk_slot_set(evm, F_STATE, block_env.state)
    return evm




def execute_code(message, block_env, tx_env):
    """The instruction loop of one frame (the compiled twin of ``interpreter.execute_code``)."""
    if _mget(message, M_GAS) > GAS_CEILING:
        return _pure_execute_code(message, block_env, tx_env)
    cdef _Loop loop = _acquire_loop()
    # The outermost compiled frame of a call tree: a fresh storage cache for the tree.
    if loop.own_slots == NULL:
        loop.own_slots = <zk_slot_cache *>malloc(sizeof(zk_slot_cache))
        if loop.own_slots == NULL:
            _release_loop(loop)
            raise MemoryError
        zk_slots_init(loop.own_slots)
    else:
        zk_slots_clear(loop.own_slots)
    # A depth-0 frame starts its transaction's execution: no slot has been written yet.
    loop.own_slots.fresh = _mget(message, M_DEPTH) == 0
    loop.slots = loop.own_slots
    evm = _execute(message, block_env, tx_env, loop)
    _release_loop(loop)
    return evm


cdef object _execute(object message, object block_env, object tx_env, _Loop loop):
    """Run one frame on ``loop`` (whose journals say whether it shares its parent's warm
    sets); the ``Frame`` with its error set as the pure loop sets it."""
    cdef int outcome
    cdef object evm = _new_frame(message, block_env, tx_env)
    cdef object error = None
    try:
        if loop.table is None:
            loop.precompiles = block_env.precompiles
            loop.table = block_env.opcodes
            loop.modes = _modes(loop.table)
        if type(loop.precompiles) is dict:
            precompile = (<dict>loop.precompiles).get(_mget(message, M_CODE_ADDRESS))
        else:
            precompile = loop.precompiles.get(_mget(message, M_CODE_ADDRESS))
        if precompile is not None:
            _run_precompile(evm, precompile)
            return evm
        try:
            outcome = _run(loop, evm, message, block_env, tx_env,
                           <const uint8_t *>PyBytes_AS_STRING(loop.modes), loop.table)
        except IndexError:
            raise _exceptions.StackUnderflow from None
    except _exceptions.ExceptionalHalt as halt:
        _fset(evm, F_GAS_LEFT, 0)
        _fset(evm, F_OUTPUT, b"")
        _fset(evm, F_ERROR, halt)
        return evm
    except _exceptions.Revert as revert:
        _fset(evm, F_ERROR, revert)
        return evm
    _fset(evm, F_PC, loop.pc)
    _fset(evm, F_REFUND_COUNTER, loop.refund)
    if outcome == DONE:
        _fset(evm, F_RUNNING, False)
        _fset(evm, F_GAS_LEFT, loop.gas)
        return evm
    if outcome == REVERTED:
        _fset(evm, F_GAS_LEFT, loop.gas)
        _fset(evm, F_ERROR, _exceptions.Revert())
        return evm
    if outcome == OUT_OF_GAS:
        error = _exceptions.OutOfGas()
    elif outcome == UNDERFLOW:
        error = _exceptions.StackUnderflow()
    elif outcome == OVERFLOW:
        error = _exceptions.StackOverflow()
    elif outcome == INVALID_OPCODE:
        error = _exceptions.InvalidOpcode(loop.error_argument)
    elif outcome == BAD_JUMP:
        error = _exceptions.InvalidJumpDestination()
    elif outcome == STATIC_WRITE:
        error = _exceptions.WriteInStaticContext()
    elif outcome == OUT_OF_BOUNDS:
        error = _exceptions.OutOfBoundsRead()
    _fset(evm, F_GAS_LEFT, 0)
    _fset(evm, F_OUTPUT, b"")
    _fset(evm, F_ERROR, error)
    return evm
