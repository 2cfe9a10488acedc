"""0x0a POINT_EVALUATION: verify a KZG proof that a blob commitment opens to ``y`` at ``z`` (EIP-4844).

Input is exactly 192 bytes: ``versioned_hash || z || y || commitment (48) || proof (48)``. The
versioned hash must be ``0x01 || sha256(commitment)[1:]``. Any failure (wrong length, wrong hash,
a non-canonical field element or point, a proof that does not verify) consumes all gas. Success
costs 50000 gas and returns FIELD_ELEMENTS_PER_BLOB and BLS_MODULUS as two 32-byte words.

Verification is ckzg's, with the mainnet trusted setup. ckzg 2.x wheels do not ship the setup
file; eth-account (a dependency of ours) ships the mainnet one, ``kzg_trusted_setup.txt``, and that
is the file we load. ``ZKOS_KZG_TRUSTED_SETUP`` names another file instead. The setup is loaded
once, on the first call (about two seconds), never at import time.
"""

from __future__ import annotations

import hashlib
import os
import threading
from importlib.util import find_spec

import ckzg

from zkos_tw.execution.precompiles import PrecompileFailure

GAS_POINT_EVALUATION = 50000
INPUT_LENGTH = 192
VERSIONED_HASH_VERSION_KZG = b"\x01"
FIELD_ELEMENTS_PER_BLOB = 4096
BLS_MODULUS = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
OUTPUT = FIELD_ELEMENTS_PER_BLOB.to_bytes(32, "big") + BLS_MODULUS.to_bytes(32, "big")

TRUSTED_SETUP_ENV = "ZKOS_KZG_TRUSTED_SETUP"
_SETUP_FILE = ("typed_transactions", "blob_transactions", "kzg_trusted_setup.txt")

_setup = None
_setup_lock = threading.Lock()


def trusted_setup_path() -> str:
    """The trusted setup file: ``$ZKOS_KZG_TRUSTED_SETUP``, else the one eth-account ships."""
    override = os.environ.get(TRUSTED_SETUP_ENV)
    if override:
        return override
    # Found through the package's location, without importing eth_account (a heavy import).
    spec = find_spec("eth_account")
    if spec is None or not spec.submodule_search_locations:
        # A broken install, not a bad input: never turn this into a failed call.
        raise RuntimeError(f"no KZG trusted setup: install eth-account or set {TRUSTED_SETUP_ENV}")
    return os.path.join(spec.submodule_search_locations[0], *_SETUP_FILE)


def trusted_setup():
    """The loaded ckzg settings, loaded on first use and shared by every later call."""
    global _setup
    if _setup is None:
        with _setup_lock:
            if _setup is None:
                # precompute=0: the fixed-base tables only speed up cell proofs, not verification.
                _setup = ckzg.load_trusted_setup(trusted_setup_path(), 0)
    return _setup


def kzg_to_versioned_hash(commitment: bytes) -> bytes:
    """The EIP-4844 versioned hash of a KZG commitment."""
    return VERSIONED_HASH_VERSION_KZG + hashlib.sha256(commitment).digest()[1:]


def point_evaluation(data: bytes, gas: int) -> tuple[int, bytes]:
    """The POINT_EVALUATION precompile."""
    if len(data) != INPUT_LENGTH:
        raise PrecompileFailure("point evaluation input must be exactly 192 bytes")
    if GAS_POINT_EVALUATION > gas:
        raise PrecompileFailure("out of gas")
    data = bytes(data)
    versioned_hash, z, y = data[0:32], data[32:64], data[64:96]
    commitment, proof = data[96:144], data[144:192]
    if kzg_to_versioned_hash(commitment) != versioned_hash:
        raise PrecompileFailure("versioned hash does not match the commitment")
    setup = trusted_setup()  # outside the try: a setup that cannot load is not a bad input
    try:
        valid = ckzg.verify_kzg_proof(commitment, z, y, proof, setup)
    except (RuntimeError, ValueError) as e:
        # ckzg rejects non-canonical field elements and bad point encodings by raising.
        raise PrecompileFailure(f"invalid KZG input: {e}") from e
    if not valid:
        raise PrecompileFailure("KZG proof does not verify")
    return GAS_POINT_EVALUATION, OUTPUT
