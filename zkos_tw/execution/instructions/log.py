"""LOG0-LOG4 (0xa0-0xa4): append a log entry to the frame."""

from zkos_tw.execution.exceptions import WriteInStaticContext
from zkos_tw.execution.gas import GAS_LOG, GAS_LOG_DATA, GAS_LOG_TOPIC, charge_gas, memory_extension
from zkos_tw.execution.receipts import Log


def make_log(topic_count: int):
    """LOG<topic_count>: log memory[start:start+size] with that many topics."""

    def log(evm) -> None:
        stack = evm.stack
        start = stack.pop()
        size = stack.pop()
        topics = tuple(stack.pop().to_bytes(32, "big") for _ in range(topic_count))
        memory_gas, grow = memory_extension(evm.memory, start, size)
        charge_gas(evm, GAS_LOG + GAS_LOG_DATA * size + GAS_LOG_TOPIC * topic_count + memory_gas)
        if grow:
            evm.memory += bytes(grow)
        if evm.message.is_static:
            raise WriteInStaticContext
        evm.logs.append(
            Log(evm.message.current_target, topics, bytes(evm.memory[start : start + size]))
        )
        evm.pc += 1

    log.__name__ = log.__qualname__ = f"log{topic_count}"
    log.__doc__ = f"LOG{topic_count}: append a log entry with {topic_count} topics."
    return log


LOG = [make_log(count) for count in range(5)]
