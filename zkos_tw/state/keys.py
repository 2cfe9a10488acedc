"""Flat storage keys of the ZKsync OS state model and the canonical order of touched slots.

Every persistent value (contract storage and account records) lives in one flat map of 32-byte
keys to 32-byte values; the key of ``(address, slot)`` is ``blake2s(pad32(address) || slot32)``
(reference ``zksync-os-state.md`` §1.1). Account records sit under the synthetic address 0x8003
with slot ``pad32(account)`` (§1.3).
"""

from __future__ import annotations

from zkos_tw.hashing import blake2s256

ZERO32 = bytes(32)

#: Addresses below this bound form the special (system) address space (§1.4).
SPECIAL_ADDRESS_SPACE_BOUND = 0x010000


def address_from_int(n: int) -> bytes:
    """The 20-byte big-endian address of the integer ``n``."""
    return n.to_bytes(20, "big")


BOOTLOADER_FORMAL_ADDRESS = address_from_int(0x8001)
ACCOUNT_PROPERTIES_STORAGE_ADDRESS = address_from_int(0x8003)
CONTRACT_DEPLOYER_ADDRESS = address_from_int(0x8006)
L1_MESSENGER_ADDRESS = address_from_int(0x8008)
L2_BASE_TOKEN_ADDRESS = address_from_int(0x800A)
L2_COMPLEX_UPGRADER_ADDRESS = address_from_int(0x800F)
L2_GENESIS_UPGRADE_ADDRESS = address_from_int(0x010001)
L2_WRAPPED_BASE_TOKEN_ADDRESS = address_from_int(0x010007)


def pad32(address: bytes) -> bytes:
    """12 zero bytes followed by the 20 address bytes."""
    if len(address) != 20:
        raise ValueError(f"an address is 20 bytes, got {len(address)}")
    return b"\x00" * 12 + bytes(address)


def slot_bytes(slot: int) -> bytes:
    """The 32 big-endian bytes of an EVM storage slot number."""
    return slot.to_bytes(32, "big")


def flat_key(address: bytes, slot32: bytes) -> bytes:
    """The tree key of ``(address, slot)``: ``blake2s(pad32(address) || slot32)``."""
    if len(slot32) != 32:
        raise ValueError(f"a storage slot is 32 bytes, got {len(slot32)}")
    return blake2s256(pad32(address) + bytes(slot32))


def account_key(address: bytes) -> bytes:
    """The tree key of the account record of ``address`` (slot ``pad32(address)`` under 0x8003)."""
    return flat_key(ACCOUNT_PROPERTIES_STORAGE_ADDRESS, pad32(address))


def warm_key_order(address: bytes, slot32: bytes) -> tuple[int, int, int, bytes]:
    """Sort key of a touched slot in ZKsync OS's ``WarmStorageKey`` order (§1.5).

    The address compares as ruint ``B160`` limbs, least-significant 8 bytes first:
    ``(int(addr[12:20]), int(addr[4:12]), int(addr[0:4]), slot bytes)``. This order fixes
    ``storage_writes`` and hence which tree index each new key receives.
    """
    limbs = _ADDRESS_LIMBS.get(address)
    if limbs is None:
        limbs = (
            int.from_bytes(address[12:20], "big"),
            int.from_bytes(address[4:12], "big"),
            int.from_bytes(address[0:4], "big"),
        )
        if len(_ADDRESS_LIMBS) < _ADDRESS_LIMBS_MAX:
            _ADDRESS_LIMBS[address] = limbs
    return (*limbs, slot32 if type(slot32) is bytes else bytes(slot32))


# The limbs of addresses seen lately (every account write is under 0x8003, and a block writes
# the slots of a few contracts many times): computing them was a top entry of the sealing
# profile. Bounded: past the limit, further addresses are computed each time.
_ADDRESS_LIMBS: dict[bytes, tuple[int, int, int]] = {}
_ADDRESS_LIMBS_MAX = 100_000
