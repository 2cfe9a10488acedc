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
from zkos_tw.execution.precompiles.blake2f import blake2f  # noqa: E402
from zkos_tw.execution.precompiles.bn254 import ecadd, ecmul, ecpairing  # noqa: E402
from zkos_tw.execution.precompiles.ecrecover import ecrecover  # noqa: E402
from zkos_tw.execution.precompiles.hashes import identity, ripemd160, sha256  # noqa: E402
from zkos_tw.execution.precompiles.modexp import modexp  # noqa: E402
from zkos_tw.execution.precompiles.point_evaluation import point_evaluation  # noqa: E402


def _address(number: int) -> bytes:
    return number.to_bytes(20, "big")


PRECOMPILES.update(
    {
        _address(0x01): ecrecover,
        _address(0x02): sha256,
        _address(0x03): ripemd160,
        _address(0x04): identity,
        _address(0x05): modexp,
        _address(0x06): ecadd,
        _address(0x07): ecmul,
        _address(0x08): ecpairing,
        _address(0x09): blake2f,
        _address(0x0A): point_evaluation,
    }
)
