"""0x01 ECRECOVER: the address that signed a 32-byte hash, recovered from a secp256k1 signature.

Input (zero-padded to 128 bytes): ``hash || v || r || s``, each a 32-byte word. ``v`` must be
exactly 27 or 28 and ``0 < r, s < n`` (no low-s rule here, unlike transactions). A signature that
breaks those rules, or from which no public key can be recovered, is not an error: the call
succeeds with empty output and is charged the full 3000 gas.
"""

from __future__ import annotations

from coincurve import PublicKey

from zkos_tw.execution.precompiles import PrecompileFailure
from zkos_tw.hashing import keccak256

GAS_ECRECOVER = 3000

# The order of the secp256k1 group.
SECP256K1N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def recover_address(message_hash: bytes, v: int, r: int, s: int) -> bytes | None:
    """The 20-byte signer address, or None when the signature is invalid or unrecoverable."""
    if v not in (27, 28):
        return None
    if not (0 < r < SECP256K1N and 0 < s < SECP256K1N):
        return None
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v - 27,))
    try:
        public_key = PublicKey.from_signature_and_message(signature, message_hash, hasher=None)
    except ValueError:  # coincurve: "failed to recover ECDSA public key"
        return None
    return keccak256(public_key.format(compressed=False)[1:])[12:]


def ecrecover(data: bytes, gas: int) -> tuple[int, bytes]:
    """The ECRECOVER precompile: 3000 gas; the signer left-padded to 32 bytes, or empty output."""
    if GAS_ECRECOVER > gas:
        raise PrecompileFailure("out of gas")
    padded = bytes(data[:128]).ljust(128, b"\x00")
    address = recover_address(
        padded[0:32],
        int.from_bytes(padded[32:64], "big"),
        int.from_bytes(padded[64:96], "big"),
        int.from_bytes(padded[96:128], "big"),
    )
    if address is None:
        return GAS_ECRECOVER, b""
    return GAS_ECRECOVER, bytes(12) + address
