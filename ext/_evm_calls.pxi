# The CALL family of the compiled EVM loop; included by ext/_evm.pyx.
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


cdef int _call(object evm, object message, int op, uint64_t *top, int64_t *gas_p,
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
    cdef object state = evm.state
    cdef object accessed = evm.accessed_addresses
    cdef bytearray memory
    cdef bytes call_data, output
    cdef object sender, caller, to, code_address, child_message, child_frame, block_env, tx_env
    cdef bint should_transfer_value = True, is_static = False
    cdef Py_ssize_t copied

    memory_gas = _memory_gas(msize, in_start, in_size)
    m2 = _memory_gas(msize, out_start, out_size)
    if m2 > memory_gas:
        memory_gas = m2
    if address in accessed:
        extra = GAS_WARM_ACCESS
    else:
        accessed.add(address)
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
    if op == 0xF1 and nonzero_value and message.is_static:
        return STATIC_WRITE
    memory = evm.memory
    _grow(memory, msize, in_start, in_size)
    _grow(memory, <uint64_t>PyByteArray_GET_SIZE(memory), out_start, out_size)

    sender = message.current_target
    if op == 0xF1:
        caller, to, code_address = sender, address, address
    elif op == 0xF2:
        caller, to, code_address = sender, sender, address
    elif op == 0xF4:
        value = message.value
        caller, to, code_address = message.caller, sender, address
        should_transfer_value = False
    else:
        caller, to, code_address = sender, address, address
        is_static = True
    if has_value and state.get_balance(sender) < value:
        memset(result, 0, 32)
        evm.return_data = b""
        gas_p[0] = gas + <int64_t>child_gas
        return DONE

    # generic_call
    evm.return_data = b""
    if message.depth + 1 > MAX_DEPTH:
        gas_p[0] = gas + <int64_t>child_gas
        memset(result, 0, 32)
        return DONE
    call_data = (PyBytes_FromStringAndSize(PyByteArray_AS_STRING(memory) + in_start, in_size)
                 if in_size else b"")
    block_env = evm.block_env
    tx_env = evm.tx_env
    child_message = Message(
        caller=caller,
        target=to,
        current_target=to,
        code_address=code_address,
        code=state.get_code(code_address),
        data=call_data,
        value=value,
        gas=child_gas,
        depth=message.depth + 1,
        should_transfer_value=should_transfer_value,
        is_static=is_static or message.is_static,
        accessed_addresses=accessed.copy(),
        accessed_storage_keys=evm.accessed_storage_keys.copy(),
    )
    # process_message
    state.begin()
    if should_transfer_value and nonzero_value:
        state.set_balance(caller, state.get_balance(caller) - value)
        state.set_balance(to, state.get_balance(to) + value)
    child_frame = block_env.engine(child_message, block_env, tx_env)
    if child_frame.error is not None:
        state.rollback()
        gas += <int64_t>child_frame.gas_left
        memset(result, 0, 32)
    else:
        state.commit()
        # incorporate_child_on_success
        gas += <int64_t>child_frame.gas_left
        evm.logs.extend(child_frame.logs)
        refund_p[0] += <int64_t>child_frame.refund_counter
        evm.accounts_to_delete.update(child_frame.accounts_to_delete)
        touched = evm.touched_accounts
        touched.update(child_frame.touched_accounts)
        touched.add(to)
        accessed.update(child_frame.accessed_addresses)
        evm.accessed_storage_keys.update(child_frame.accessed_storage_keys)
        zk_set_u64(result, 1)
    gas_p[0] = gas
    evm.return_data = child_frame.output
    output = _as_bytes(child_frame.output)
    copied = PyBytes_GET_SIZE(output)
    if <uint64_t>copied > out_size:
        copied = <Py_ssize_t>out_size
    if copied:
        memcpy(PyByteArray_AS_STRING(memory) + out_start, PyBytes_AS_STRING(output), copied)
    return DONE
