"""Precompiled contracts 0x01-0x0a (Cancun).

Contract shared with the interpreter and the Cython path:

* ``PRECOMPILES`` maps a 20-byte address to ``fn(data: bytes, gas: int) -> (gas_used, output)``.
* ``gas`` is the gas available to the call. A precompile that needs more gas than that, or whose
  input is invalid in a way the spec makes fatal, raises ``PrecompileFailure``: the caller then
  consumes all gas given to the call and the call fails with empty output.
* Precompiles are pure functions of their input: they never touch state.
"""


class PrecompileFailure(Exception):
    """The precompile call fails and consumes all the gas it was given."""


PRECOMPILES: dict = {}
