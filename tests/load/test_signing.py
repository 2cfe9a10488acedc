"""The load generator's signer gives eth-account's bytes, 6x faster."""

from eth_account import Account
from eth_utils import to_checksum_address
from twisted.trial.unittest import TestCase

from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.load.runner import RICH_KEY
from zkos_tw.load.signing import Signer, create_address, derive_signers, to_checksum

RICH_ADDRESS = "0x36615Cf349d7F6344891B1e7CA7C72883F5dc049"


class SignerTests(TestCase):
    def test_address_of_the_rich_key(self):
        signer = Signer.from_hex(RICH_KEY)
        self.assertEqual(signer.address, RICH_ADDRESS)
        self.assertEqual(signer.address_bytes.hex(), RICH_ADDRESS[2:].lower())

    def test_same_bytes_as_eth_account(self):
        """Transfer and contract call: raw bytes and hash equal eth-account's."""
        signer = Signer.from_hex(RICH_KEY)
        account = Account.from_key(RICH_KEY)
        for to, value, data in (
            (b"\x11" * 20, 1, b""),
            (b"\x22" * 20, 0, b"\xa9\x05\x9c\xbb" + bytes(64)),
        ):
            ours = signer.sign_1559(
                chain_id=270, nonce=7, max_priority_fee=3, max_fee=2003, gas=60_000, to=to,
                value=value, data=data,
            )  # fmt: skip
            theirs = account.sign_transaction(
                {
                    "type": 2, "chainId": 270, "nonce": 7, "maxPriorityFeePerGas": 3,
                    "maxFeePerGas": 2003, "gas": 60_000, "to": "0x" + to.hex(), "value": value,
                    "data": data,
                }
            )  # fmt: skip
            self.assertEqual(ours.raw_hex, "0x" + bytes(theirs.raw_transaction).hex())
            self.assertEqual(ours.tx_hash, "0x" + bytes(theirs.hash).hex())

    def test_creation_decodes(self):
        """A creation (no ``to``) decodes with the node's decoder and recovers the sender."""
        signer = Signer.from_hex(RICH_KEY)
        tx = signer.sign_1559(
            chain_id=270, nonce=0, max_priority_fee=0, max_fee=2000, gas=100_000, to=None,
            data=b"\x60\x00",
        )  # fmt: skip
        decoded = decode_transaction(bytes.fromhex(tx.raw_hex[2:]))
        self.assertIsNone(decoded.to)
        self.assertEqual(recover_sender(decoded), signer.address_bytes)

    def test_bad_keys(self):
        for text, message in (
            ("0xzz", "not hex"),
            ("0x1234", "must be 32 bytes"),
            ("0x" + "00" * 32, "invalid private key"),
        ):
            with self.assertRaises(ValueError) as caught:
                Signer.from_hex(text)
            self.assertIn(message, str(caught.exception))


class DerivationTests(TestCase):
    def test_deterministic_and_distinct(self):
        first = [s.address for s in derive_signers(b"seed", 5)]
        self.assertEqual(first, [s.address for s in derive_signers(b"seed", 5)])
        self.assertEqual(len(set(first)), 5)
        self.assertNotEqual(first, [s.address for s in derive_signers(b"other", 5)])

    def test_checksum_matches_eth_utils(self):
        for signer in derive_signers(b"c", 10):
            self.assertEqual(to_checksum(signer.address_bytes), to_checksum_address(signer.address))

    def test_create_address(self):
        """The well-known CREATE address of 0x6ac7...c0 nonce 0 (Ethereum yellow-paper example)."""
        sender = bytes.fromhex("6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0")
        self.assertEqual(
            create_address(sender, 0).hex(), "cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d"
        )
        self.assertEqual(
            create_address(sender, 1).hex(), "343c43a37d37dff08ae8c4a11544c718abb4fcf8"
        )
