"""Flat keys, the canonical write order, AccountProperties and bytecode blobs."""

import json

from hypothesis import given
from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import fixture_path
from tests.strategies import bytecode
from zkos_tw.hashing import blake2s256, keccak256
from zkos_tw.state import AccountProperties, account_key, extended_blob, flat_key, jumpdest_bitmap
from zkos_tw.state.account import DEPLOYED_EVM_VERSIONING, EMPTY_ACCOUNT
from zkos_tw.state.bytecode import deploy_code
from zkos_tw.state.keys import pad32, warm_key_order


def _genesis_contracts():
    with open(fixture_path("zksync-os", "genesis.json")) as f:
        return {
            bytes.fromhex(a[2:]): bytes.fromhex(c[2:]) for a, c in json.load(f)["initial_contracts"]
        }


class KeyTests(SynchronousTestCase):
    """Flat key derivation and ordering (reference §1)."""

    def test_flat_key(self):
        """The flat key is blake2s of the padded address and the slot."""
        address = bytes.fromhex("00" * 19 + "07")
        slot = (5).to_bytes(32, "big")
        self.assertEqual(flat_key(address, slot), blake2s256(bytes(31) + b"\x07" + slot))

    def test_account_key_prefixes(self):
        """The 0x8003 keys of the genesis contracts match the worked values of §6.2."""
        expected = {0x800F: "391886e6", 0x010001: "de4614b2", 0x010007: "36475a3b"}
        for n, prefix in expected.items():
            address = n.to_bytes(20, "big")
            self.assertEqual(account_key(address)[:4].hex(), prefix)
            self.assertEqual(
                account_key(address), flat_key((0x8003).to_bytes(20, "big"), pad32(address))
            )

    def test_warm_key_order(self):
        """Addresses compare by their low 8 bytes first, then the middle 8, then the top 4."""
        low = bytes.fromhex("ff" * 12 + "00" * 7 + "01")
        high = bytes.fromhex("00" * 12 + "00" * 7 + "02")
        self.assertLess(warm_key_order(low, bytes(32)), warm_key_order(high, bytes(32)))
        a = bytes.fromhex("01" + "00" * 19)
        b = bytes.fromhex("00" * 4 + "01" + "00" * 15)
        self.assertLess(warm_key_order(a, bytes(32)), warm_key_order(b, bytes(32)))
        self.assertLess(warm_key_order(a, b"\x00" * 32), warm_key_order(a, b"\x00" * 31 + b"\x01"))


class AccountTests(SynchronousTestCase):
    """The 124-byte record (reference §2)."""

    def test_layout(self):
        """Fields sit at their offsets, big-endian."""
        record = AccountProperties(
            DEPLOYED_EVM_VERSIONING, 7, 2**200, b"\x01" * 32, 3464, 440, b"\x02" * 32, 3464
        )
        data = record.encode()
        self.assertEqual(len(data), 124)
        self.assertEqual(data[0:8], bytes.fromhex("0101010000000000"))
        self.assertEqual(data[8:16], (7).to_bytes(8, "big"))
        self.assertEqual(data[16:48], (2**200).to_bytes(32, "big"))
        self.assertEqual(data[80:88], bytes.fromhex("00000d88000001b8"))
        self.assertEqual(data[120:124], bytes.fromhex("00000d88"))
        self.assertEqual(AccountProperties.decode(data), record)
        self.assertRaises(ValueError, AccountProperties.decode, data[:-1])

    def test_empty_hash(self):
        """The all-zero record hashes to the value of §2.2."""
        self.assertEqual(
            EMPTY_ACCOUNT.hash().hex(),
            "7a2b5e8d3961f5c992b2fa0ad45881ac0873fd0dced3c4b9085b02879c8a02b2",
        )
        self.assertTrue(EMPTY_ACCOUNT.is_default)


class BytecodeTests(SynchronousTestCase):
    """Padding, the JUMPDEST bitmap and the blob hash (reference §3)."""

    def test_bitmap(self):
        """JUMPDEST bits skip PUSH data; the bitmap is whole u64 words."""
        code = bytes([0x5B, 0x60, 0x5B, 0x5B, 0x7F]) + b"\x5b" * 32 + b"\x5b"
        bitmap = jumpdest_bitmap(code)
        self.assertEqual(len(bitmap), 8)
        self.assertEqual(bitmap[0], 0b1001)
        self.assertEqual(int.from_bytes(bitmap, "little"), (1 << 0) | (1 << 3) | (1 << 37))
        self.assertEqual(jumpdest_bitmap(b""), b"")
        self.assertEqual(len(jumpdest_bitmap(bytes(65))), 16)

    @given(bytecode)
    def test_blob_shape(self, code):
        """The blob is code, padding to 8, then 8*ceil(len/64) bytes of bitmap."""
        blob, artifacts_len = extended_blob(code)
        self.assertEqual(artifacts_len, 8 * ((len(code) + 63) // 64))
        self.assertEqual(len(blob) % 8, 0)
        self.assertEqual(blob[: len(code)], code)
        self.assertEqual(len(blob), len(code) + (-len(code)) % 8 + artifacts_len)

    def test_genesis_worked_values(self):
        """The three shared genesis contracts give the lengths and hashes of §6.2."""
        expected = {
            0x800F: (440, "ed074906", "cb0ab0d7", "0f376756"),
            0x010001: (1352, "41552612", "4c62c9d1", "e07f92f6"),
            0x010007: (1200, "12ec4c42", "87c9d985", "93114092"),
        }
        for address, code in _genesis_contracts().items():
            artifacts, keccak_prefix, blob_prefix, account_prefix = expected[
                int.from_bytes(address, "big")
            ]
            record, blob_hash, blob = deploy_code(EMPTY_ACCOUNT.with_changes(nonce=1), code)
            self.assertEqual(record.artifacts_len, artifacts)
            self.assertEqual(keccak256(code)[:4].hex(), keccak_prefix)
            self.assertEqual(blob_hash[:4].hex(), blob_prefix)
            self.assertEqual(blake2s256(blob), blob_hash)
            self.assertEqual(record.hash()[:4].hex(), account_prefix)
            self.assertEqual(record.versioning_data, DEPLOYED_EVM_VERSIONING)
