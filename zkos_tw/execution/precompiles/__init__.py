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


# The implementations import PrecompileFailure from this module, so they are imported after it.
# The package attributes stay the modules (ecrecover, modexp, ...): the functions are reached
# through PRECOMPILES or their modules, never shadowing a module of the same name.
from zkos_tw.execution.precompiles import (  # noqa: E402
    blake2f,
    bn254,
    ecrecover,
    hashes,
    modexp,
    point_evaluation,
)


def _address(number: int) -> bytes:
    return number.to_bytes(20, "big")


PRECOMPILES.update(
    {
        _address(0x01): ecrecover.ecrecover,
        _address(0x02): hashes.sha256,
        _address(0x03): hashes.ripemd160,
        _address(0x04): hashes.identity,
        _address(0x05): modexp.modexp,
        _address(0x06): bn254.ecadd,
        _address(0x07): bn254.ecmul,
        _address(0x08): bn254.ecpairing,
        _address(0x09): blake2f.blake2f,
        _address(0x0A): point_evaluation.point_evaluation,
    }
)
