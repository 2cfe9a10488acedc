"""Child frames on the compiled loop against the pure one: the CALL family, CREATE/CREATE2 and
the journaled warm sets (``ext/_evm_calls.pxi``).

A child run by the compiled loop shares its parent's warm sets and undoes its additions when it
fails; these programs warm accounts and slots in children and grandchildren that succeed, revert
or halt, through C (SLOAD, CALL) and through instructions run in Python (BALANCE, which makes the
frame take its own copies), and then touch the same accounts and slots again from the parent,
where cold and warm cost different gas.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.execution.evm_helpers import OTHER, push
from tests.execution.test_differential import _require_compiled, run_both
from zkos_tw.testing import MemoryState

THIRD = bytes.fromhex("0000000000000000000000000000000000000ccc")
BEEF = 0xBEEF
DEAD = 0xDEAD
ENDINGS = {"stop": b"\x00", "revert": push(0) + push(0) + b"\xfd", "invalid": b"\xfe"}


def call(op: int, to: int, value: int = 0) -> bytes:
    """A CALL-family instruction to ``to`` with 100,000 gas, no data; its result popped."""
    operands = [0, 0, 0, 0] + ([value] if op in (0xF1, 0xF2) else []) + [to, 100_000]
    return b"".join(push(v) for v in operands) + bytes([op]) + b"\x50"


def sload(slot: int) -> bytes:
    return push(slot) + b"\x54\x50"


def balance(address: int) -> bytes:
    return push(address) + b"\x31\x50"


def create(initcode: bytes, op: int = 0xF0) -> bytes:
    """CODECOPY ``initcode`` (appended after the returned prefix) to memory 0 and CREATE it."""
    size = len(initcode)
    salt = push(1) if op == 0xF5 else b""
    # CODECOPY(dest 0, offset, size); [salt] CREATE(value 0, offset 0, size); POP
    tail = salt + push(size, 2) + push(0) + push(0) + bytes([op]) + b"\x50"
    prefix_size = len(push(size, 2) + push(0, 2) + push(0) + b"\x39") + len(tail)

    def assemble(after: bytes) -> bytes:
        offset = prefix_size + len(after) + 1  # + the STOP before the initcode
        return (push(size, 2) + push(offset, 2) + push(0) + b"\x39" + tail + after + b"\x00"
                + initcode)  # fmt: skip

    return assemble


class JournaledWarmSetTests(SynchronousTestCase):
    """Warm accounts and slots after failed and successful children agree on both loops."""

    def setUp(self):
        _require_compiled()

    def run_case(self, parent, child, grandchild):
        def make_state():
            state = MemoryState()
            state.set_account(OTHER, code=child, storage={7: 1}, balance=10)
            state.set_account(THIRD, code=grandchild, storage={1: 2}, balance=10)
            return state

        results = run_both(parent, make_state=make_state, gas=2_000_000)
        for key in results["pure"]:
            self.assertEqual(results["cext"][key], results["pure"][key], key)
        return results["cext"]

    def test_children_that_fail_or_succeed(self):
        """Every combination of child and grandchild endings, with and without an instruction
        run in Python in the child, for CALL, CALLCODE, DELEGATECALL and STATICCALL."""
        other = int.from_bytes(OTHER, "big")
        third = int.from_bytes(THIRD, "big")
        gas_seen = set()
        for op in (0xF1, 0xF2, 0xF4, 0xFA):
            parent = (call(op, other) + balance(DEAD) + balance(BEEF) + call(op, other)
                      + call(op, third) + sload(7) + b"\x00")  # fmt: skip
            for child_end in ENDINGS.values():
                for grandchild_end in ENDINGS.values():
                    for python_step in (b"", balance(DEAD)):
                        grandchild = sload(1) + call(0xF1, BEEF) + grandchild_end
                        child = sload(7) + python_step + call(op, third) + child_end
                        outcome = self.run_case(parent, child, grandchild)
                        self.assertIsNone(outcome["error"])
                        gas_seen.add(outcome["gas_left"])
        # The endings change which accounts and slots are warm afterwards, hence the gas.
        self.assertGreater(len(gas_seen), 8)

    def test_nested_failure_after_success(self):
        """A grandchild succeeds (its additions join the child's journal), then the child
        reverts: all of it is undone in the parent."""
        third = int.from_bytes(THIRD, "big")
        other = int.from_bytes(OTHER, "big")
        grandchild = sload(1) + call(0xF1, BEEF) + b"\x00"
        child = call(0xF1, third) + ENDINGS["revert"]
        parent = call(0xF1, other) + balance(BEEF) + call(0xF1, third) + b"\x00"
        outcome = self.run_case(parent, child, grandchild)
        self.assertIn(BEEF.to_bytes(20, "big"), outcome["accessed_addresses"])
        self.assertIn((THIRD, 1), outcome["accessed_storage_keys"])

    def test_creates(self):
        """CREATE and CREATE2 of initcode that warms accounts and slots and then returns code,
        reverts, halts or returns an 0xEF prefix: same addresses, gas, code and warm sets."""
        third = int.from_bytes(THIRD, "big")
        returns = push(0x60) + push(0) + b"\x53" + push(1) + push(0) + b"\xf3"
        ef_prefix = push(0xEF) + push(0) + b"\x53" + push(1) + push(0) + b"\xf3"
        endings = [returns, ef_prefix, ENDINGS["revert"], ENDINGS["invalid"], b"\x00"]
        grandchild = sload(1) + call(0xF1, BEEF) + b"\x00"
        created = 0
        for op in (0xF0, 0xF5):
            for ending in endings:
                initcode = call(0xF1, third) + balance(DEAD) * (op == 0xF5) + ending
                parent = create(initcode, op)(balance(BEEF) + balance(DEAD) + call(0xF1, third))
                outcome = self.run_case(parent, b"", grandchild)
                self.assertIsNone(outcome["error"])
                created += sum(1 for account in outcome["state"] if account[3] == b"\x60")
        self.assertEqual(created, 2)  # the two initcodes that return 0x60
