# The CALL family, CREATE and CREATE2 of the compiled EVM loop; included by ext/_evm.pyx.
#
# CALL, CALLCODE, DELEGATECALL and STATICCALL as zkos_tw/execution/instructions/system.py does
# them, step for step (EIP-150 gas, EIP-2929 warm accounts, value transfer, depth limit), with
# the stack items, gas and memory of the C loop: no Python stack list, no pure instruction, no
# process_message. The child frame runs through block_env.engine (the compiled loop again, or a
# tracer's wrapper around it) inside its own state checkpoint.

DEF GAS_WARM_ACCESS = 100
DEF GAS_COLD_ACCOUNT_ACCESS = 2600
DEF GAS_NEW_ACCOUNT = 25000
DEF GAS_CALL_VALUE = 9000
DEF GAS_CALL_STIPEND = 2300
DEF MAX_DEPTH = 1024


cdef inline bytes _address_of(const uint64_t *word):
    """The low 160 bits of a stack word as 20 bytes (``message.to_address``)."""
    cdef uint8_t raw[32]
    zk_to_be32(raw, word)
    return PyBytes_FromStringAndSize(<char *>raw + 12, 20)


cdef object _new_message(object caller, object target, object current_target,
                         object code_address, object code, object data, object value,
                         object gas, object depth, bint should_transfer_value, bint is_static,
                         object accessed_addresses, object accessed_storage_keys):
    """``Message(...)`` without the keyword-argument call of its ``__init__`` (its slots
    written directly)."""
    cdef object message = zk_alloc(Message)
    zk_slot_set(message, M_CALLER, caller)
    zk_slot_set(message, M_TARGET, target)
    zk_slot_set(message, M_CURRENT_TARGET, current_target)
    zk_slot_set(message, M_CODE_ADDRESS, code_address)
    zk_slot_set(message, M_CODE, code)
    zk_slot_set(message, M_DATA, data)
    zk_slot_set(message, M_VALUE, value)
    zk_slot_set(message, M_GAS, gas)
    zk_slot_set(message, M_DEPTH, depth)
    zk_slot_set(message, M_SHOULD_TRANSFER_VALUE, should_transfer_value)
    zk_slot_set(message, M_IS_STATIC, is_static)
    zk_slot_set(message, M_ACCESSED_ADDRESSES, accessed_addresses)
    zk_slot_set(message, M_ACCESSED_STORAGE_KEYS, accessed_storage_keys)
    return message



cdef inline void _forget_slots(_Loop loop) noexcept:
    """Empty the storage cache of ``loop``'s call tree (state was rolled back or written by
    code that does not keep the cache)."""
    if loop.slots != NULL:
        zk_slots_clear(loop.slots)


cdef inline int _merge(object parent, object child, list journal) except -1:
    """Add a child's own warm set to its parent's (listing the new items in the parent's
    journal when the parent shares its sets too)."""
    if journal is None:
        parent.update(child)
    else:
        new = child - parent
        if new:
            journal.extend(new)
            parent.update(new)
    return 0


cdef inline void _inherit(_Loop child, _Loop parent):
    """The child's opcode table, its modes and the precompiles are its parent's."""
    child.precompiles = parent.precompiles
    child.table = parent.table
    child.modes = parent.modes


cdef int _incorporate(object evm, object child_frame, object to) except -1:
    """The logs, deletions and touched accounts of a successful child into its parent
    (``incorporate_child_on_success``; the gas and refund are the caller's). Empty parts cost
    no method call, and lists and sets go through the C API."""
    cdef object logs = _fget(child_frame, F_LOGS)
    cdef object parent
    if logs:
        parent = _fget(evm, F_LOGS)
        if type(parent) is list:
            PyList_SetSlice(parent, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, logs)
        else:
            parent.extend(logs)
    deleted = _fget(child_frame, F_ACCOUNTS_TO_DELETE)
    if deleted:
        _fget(evm, F_ACCOUNTS_TO_DELETE).update(deleted)
    parent = _fget(evm, F_TOUCHED_ACCOUNTS)
    touched = _fget(child_frame, F_TOUCHED_ACCOUNTS)
    if touched:
        parent.update(touched)
    if type(parent) is set:
        PySet_Add(parent, to)
    else:
        parent.add(to)
    return 0


cdef int _call(_Loop loop, object evm, object message, int op, uint64_t *top, int64_t *gas_p,
               int64_t *refund_p, uint64_t msize) except -1:
    """Run the CALL-family instruction ``op`` whose stack items end at ``top`` (the first
    argument); its 0/1 result is written over the last argument. Returns DONE, OUT_OF_GAS or
    STATIC_WRITE; ``*gas_p`` and ``*refund_p`` are updated, ``evm.memory`` may have grown."""
    cdef bint has_value = op == 0xF1 or op == 0xF2
    cdef uint64_t *regions = top - (12 if has_value else 8)
    cdef uint64_t *result = top - 4 * ((7 if has_value else 6) - 1)
    cdef uint64_t in_start = zk_clamp(regions, CLAMP)
    cdef uint64_t in_size = zk_clamp(regions - 4, CLAMP)
    cdef uint64_t out_start = zk_clamp(regions - 8, CLAMP)
    cdef uint64_t out_size = zk_clamp(regions - 12, CLAMP)
    cdef uint64_t memory_gas, m2, extra, child, cap, left, child_gas
    cdef int64_t gas = gas_p[0]
    cdef bint nonzero_value = has_value and not zk_is_zero(top - 8)
    cdef object value = zk_to_pylong(top - 8) if nonzero_value else 0
    cdef bytes address = _address_of(top - 4)
    cdef object state = _fget(evm, F_STATE)
    cdef object accessed = _fget(evm, F_ACCESSED_ADDRESSES)
    cdef bytearray memory
    cdef bytes call_data, output
    cdef object sender, caller, to, code_address, child_message, child_frame, block_env, tx_env
    cdef bint should_transfer_value = True, is_static = False
    cdef Py_ssize_t copied
    cdef _Loop child_loop = None
    cdef object keys

    memory_gas = _memory_gas(msize, in_start, in_size)
    m2 = _memory_gas(msize, out_start, out_size)
    if m2 > memory_gas:
        memory_gas = m2
    if address in accessed:
        extra = GAS_WARM_ACCESS
    else:
        accessed.add(address)
        if loop.journal_addresses is not None:
            loop.journal_addresses.append(address)
        extra = GAS_COLD_ACCOUNT_ACCESS
    if nonzero_value:
        extra += GAS_CALL_VALUE
        if op == 0xF1 and not _is_account_alive(state, address):
            extra += GAS_NEW_ACCOUNT
    # message_call_gas and charge_gas: when the extra and memory gas are not there, the charge
    # (the requested gas on top) fails whatever was requested.
    if <uint64_t>gas < extra + memory_gas:
        return OUT_OF_GAS
    left = <uint64_t>gas - memory_gas - extra
    cap = left - left // 64
    child = top[0] if zk_fits_u64(top) and top[0] < cap else cap
    gas -= <int64_t>(child + extra + memory_gas)
    gas_p[0] = gas
    child_gas = child + (GAS_CALL_STIPEND if nonzero_value else 0)
    if op == 0xF1 and nonzero_value and _mget(message, M_IS_STATIC):
        return STATIC_WRITE
    memory = _fget(evm, F_MEMORY)
    _grow(memory, msize, in_start, in_size)
    _grow(memory, <uint64_t>PyByteArray_GET_SIZE(memory), out_start, out_size)

    sender = _mget(message, M_CURRENT_TARGET)
    if op == 0xF1:
        caller, to, code_address = sender, address, address
    elif op == 0xF2:
        caller, to, code_address = sender, sender, address
    elif op == 0xF4:
        value = _mget(message, M_VALUE)
        caller, to, code_address = _mget(message, M_CALLER), sender, address
        should_transfer_value = False
    else:
        caller, to, code_address = sender, address, address
        is_static = True
    if nonzero_value and state.get_balance(sender) < value:
        memset(result, 0, 32)
        _fset(evm, F_RETURN_DATA, b"")
        gas_p[0] = gas + <int64_t>child_gas
        return DONE

    # generic_call
    _fset(evm, F_RETURN_DATA, b"")
    if _mget(message, M_DEPTH) + 1 > MAX_DEPTH:
        gas_p[0] = gas + <int64_t>child_gas
        memset(result, 0, 32)
        return DONE
    call_data = (PyBytes_FromStringAndSize(PyByteArray_AS_STRING(memory) + in_start, in_size)
                 if in_size else b"")
    block_env = _fget(evm, F_BLOCK_ENV)
    tx_env = _fget(evm, F_TX_ENV)
    keys = _fget(evm, F_ACCESSED_STORAGE_KEYS)
    engine = block_env.engine
    if engine is execute_code and child_gas <= <uint64_t>GAS_CEILING:
        # The child runs here on the compiled loop and shares the warm sets (journaled).
        child_loop = _acquire_loop()
        child_loop.journal_addresses = child_loop.own_addresses
        child_loop.journal_keys = child_loop.own_keys
        child_loop.slots = loop.slots   # one storage cache for the call tree
        child_loop.child = True
        _inherit(child_loop, loop)
        child_addresses = accessed
        child_keys = keys
    else:
        child_addresses = accessed.copy()
        child_keys = keys.copy()
    child_message = _new_message(
        caller, to, to, code_address, state.get_code(code_address), call_data, value,
        child_gas, _mget(message, M_DEPTH) + 1, should_transfer_value, is_static or _mget(message, M_IS_STATIC),
        child_addresses, child_keys)
    # process_message
    state.begin()
    if should_transfer_value and nonzero_value:
        state.set_balance(caller, state.get_balance(caller) - value)
        state.set_balance(to, state.get_balance(to) + value)
    if child_loop is not None:
        child_frame = _execute(child_message, block_env, tx_env, child_loop)
    else:
        child_frame = engine(child_message, block_env, tx_env)
        _forget_slots(loop)     # the other engine wrote storage past the cache
    if _fget(child_frame, F_ERROR) is not None:
        state.rollback()
        _forget_slots(loop)     # the cache holds what the child wrote
        gas += <int64_t>_fget(child_frame, F_GAS_LEFT)
        memset(result, 0, 32)
        if child_loop is not None and child_loop.journal_keys is not None:
            if child_loop.journal_addresses:
                accessed.difference_update(child_loop.journal_addresses)
            if child_loop.journal_keys:
                keys.difference_update(child_loop.journal_keys)
    else:
        state.commit()
        # incorporate_child_on_success
        gas += <int64_t>_fget(child_frame, F_GAS_LEFT)
        refund_p[0] += <int64_t>_fget(child_frame, F_REFUND_COUNTER)
        _incorporate(evm, child_frame, to)
        if child_loop is not None and child_loop.journal_keys is not None:
            if loop.journal_keys is not None:
                if child_loop.journal_addresses:
                    loop.journal_addresses.extend(child_loop.journal_addresses)
                if child_loop.journal_keys:
                    loop.journal_keys.extend(child_loop.journal_keys)
        else:
            _merge(accessed, _fget(child_frame, F_ACCESSED_ADDRESSES), loop.journal_addresses)
            _merge(keys, _fget(child_frame, F_ACCESSED_STORAGE_KEYS), loop.journal_keys)
        zk_set_u64(result, 1)
    if child_loop is not None:
        _release_loop(child_loop)
    gas_p[0] = gas
    _fset(evm, F_RETURN_DATA, _fget(child_frame, F_OUTPUT))
    output = _as_bytes(_fget(child_frame, F_OUTPUT))
    copied = PyBytes_GET_SIZE(output)
    if <uint64_t>copied > out_size:
        copied = <Py_ssize_t>out_size
    if copied:
        memcpy(PyByteArray_AS_STRING(memory) + out_start, PyBytes_AS_STRING(output), copied)
    return DONE


DEF GAS_CREATE = 32000
DEF GAS_KECCAK256_WORD = 6
DEF GAS_INIT_CODE_WORD = 2
DEF GAS_CODE_DEPOSIT = 200
DEF MAX_CODE_SIZE = 0x6000
DEF MAX_INIT_CODE_SIZE = 2 * MAX_CODE_SIZE
MAX_NONCE = 2**64 - 1
_create_address = _interpreter.create_address
_create2_address = _interpreter.create2_address


cdef int _create(_Loop loop, object evm, object message, int op, uint64_t *top, int64_t *gas_p,
                 int64_t *refund_p, uint64_t msize) except -1:
    """CREATE or CREATE2 (``system.create``, ``create2`` and ``generic_create``) with the
    stack items ending at ``top``; the new address or 0 is written over the last item.
    Returns DONE, OUT_OF_GAS or STATIC_WRITE."""
    cdef uint64_t start = zk_clamp(top - 4, CLAMP)
    cdef uint64_t size = zk_clamp(top - 8, CLAMP)
    cdef uint64_t *result = top - (12 if op == 0xF5 else 8)
    cdef uint64_t cost = GAS_CREATE + _memory_gas(msize, start, size)
    cdef uint64_t child_gas
    cdef int64_t gas = gas_p[0]
    cdef object block_env = _fget(evm, F_BLOCK_ENV)
    cdef object tx_env = _fget(evm, F_TX_ENV)
    cdef object state = _fget(evm, F_STATE)
    cdef bint initcode_limit = block_env.fork.initcode_limit
    cdef object endowment = zk_to_pylong(top)
    cdef bytearray memory
    cdef bytes call_data, contract_address, contract_code
    cdef object sender, accessed, keys, child_addresses, child_keys, child_message, child_frame
    cdef object error = None
    cdef _Loop child_loop = None

    if initcode_limit:
        cost += GAS_INIT_CODE_WORD * words(size)
    if op == 0xF5:
        cost += GAS_KECCAK256_WORD * words(size)
    if <uint64_t>gas < cost:
        return OUT_OF_GAS
    gas -= <int64_t>cost
    memory = _fget(evm, F_MEMORY)
    _grow(memory, msize, start, size)
    call_data = (PyBytes_FromStringAndSize(PyByteArray_AS_STRING(memory) + start, size)
                 if size else b"")
    sender = _mget(message, M_CURRENT_TARGET)
    if op == 0xF0:
        contract_address = _create_address(sender, state.get_nonce(sender))
    else:
        contract_address = _create2_address(sender, zk_to_pylong(top - 12), call_data)

    # generic_create
    if initcode_limit and size > MAX_INIT_CODE_SIZE:
        gas_p[0] = gas
        return OUT_OF_GAS
    accessed = _fget(evm, F_ACCESSED_ADDRESSES)
    if contract_address not in accessed:
        accessed.add(contract_address)
        if loop.journal_addresses is not None:
            loop.journal_addresses.append(contract_address)
    child_gas = <uint64_t>gas - <uint64_t>gas // 64
    gas -= <int64_t>child_gas
    gas_p[0] = gas
    if _mget(message, M_IS_STATIC):
        return STATIC_WRITE
    _fset(evm, F_RETURN_DATA, b"")
    if (state.get_balance(sender) < endowment or state.get_nonce(sender) == MAX_NONCE
            or _mget(message, M_DEPTH) + 1 > MAX_DEPTH):
        gas_p[0] = gas + <int64_t>child_gas
        memset(result, 0, 32)
        return DONE
    if (state.get_nonce(contract_address) != 0 or state.get_code(contract_address)
            or state.account_has_storage(contract_address)):
        state.set_nonce(sender, state.get_nonce(sender) + 1)
        memset(result, 0, 32)
        return DONE
    state.set_nonce(sender, state.get_nonce(sender) + 1)

    keys = _fget(evm, F_ACCESSED_STORAGE_KEYS)
    engine = block_env.engine
    if engine is execute_code:
        child_loop = _acquire_loop()
        child_loop.journal_addresses = child_loop.own_addresses
        child_loop.journal_keys = child_loop.own_keys
        child_loop.slots = loop.slots
        child_loop.child = True
        _inherit(child_loop, loop)
        child_addresses = accessed
        child_keys = keys
    else:
        child_addresses = accessed.copy()
        child_keys = keys.copy()
    child_message = _new_message(
        sender, None, contract_address, None, call_data, b"", endowment, child_gas,
        _mget(message, M_DEPTH) + 1, True, False, child_addresses, child_keys)
    # process_create_message, and process_message inside it
    state.begin()
    tx_env.created_accounts.add(contract_address)
    state.set_nonce(contract_address, 1)
    state.begin()
    if endowment:
        state.set_balance(sender, state.get_balance(sender) - endowment)
        state.set_balance(contract_address, state.get_balance(contract_address) + endowment)
    if child_loop is not None:
        child_frame = _execute(child_message, block_env, tx_env, child_loop)
    else:
        child_frame = engine(child_message, block_env, tx_env)
        _forget_slots(loop)     # the other engine wrote storage past the cache
    if _fget(child_frame, F_ERROR) is not None:
        state.rollback()
        state.rollback()
        _forget_slots(loop)
    else:
        state.commit()
        contract_code = _as_bytes(_fget(child_frame, F_OUTPUT))
        if PyBytes_GET_SIZE(contract_code) and (<const uint8_t *>PyBytes_AS_STRING(contract_code))[0] == 0xEF:
            error = _exceptions.InvalidContractPrefix()
        elif _fget(child_frame, F_GAS_LEFT) < PyBytes_GET_SIZE(contract_code) * GAS_CODE_DEPOSIT:
            error = _exceptions.OutOfGas()
        else:
            child_frame.gas_left -= PyBytes_GET_SIZE(contract_code) * GAS_CODE_DEPOSIT
            if PyBytes_GET_SIZE(contract_code) > MAX_CODE_SIZE:
                error = _exceptions.OutOfGas()
        if error is not None:
            state.rollback()
            _forget_slots(loop)
            _fset(child_frame, F_GAS_LEFT, 0)
            _fset(child_frame, F_OUTPUT, b"")
            _fset(child_frame, F_ERROR, error)
        else:
            state.set_code(contract_address, _fget(child_frame, F_OUTPUT))
            state.commit()

    if _fget(child_frame, F_ERROR) is not None:
        gas += <int64_t>_fget(child_frame, F_GAS_LEFT)
        _fset(evm, F_RETURN_DATA, _fget(child_frame, F_OUTPUT))
        memset(result, 0, 32)
        if child_loop is not None and child_loop.journal_keys is not None:
            if child_loop.journal_addresses:
                accessed.difference_update(child_loop.journal_addresses)
            if child_loop.journal_keys:
                keys.difference_update(child_loop.journal_keys)
    else:
        gas += <int64_t>_fget(child_frame, F_GAS_LEFT)
        refund_p[0] += <int64_t>_fget(child_frame, F_REFUND_COUNTER)
        _incorporate(evm, child_frame, contract_address)
        if child_loop is not None and child_loop.journal_keys is not None:
            if loop.journal_keys is not None:
                if child_loop.journal_addresses:
                    loop.journal_addresses.extend(child_loop.journal_addresses)
                if child_loop.journal_keys:
                    loop.journal_keys.extend(child_loop.journal_keys)
        else:
            _merge(accessed, _fget(child_frame, F_ACCESSED_ADDRESSES), loop.journal_addresses)
            _merge(keys, _fget(child_frame, F_ACCESSED_STORAGE_KEYS), loop.journal_keys)
        _fset(evm, F_RETURN_DATA, b"")
        zk_from_be(result, <const uint8_t *>PyBytes_AS_STRING(contract_address), 20)
    if child_loop is not None:
        _release_loop(child_loop)
    gas_p[0] = gas
    return DONE
