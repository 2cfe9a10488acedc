"""``BlockWrite`` and its parts refuse malformed fields before any transaction starts."""

from twisted.trial.unittest import TestCase

from zkos_tw.storage import (
    ROLE_SENDER,
    AddressIndexWrite,
    BlockWrite,
    LogWrite,
    StorageError,
    TxWrite,
)
from zkos_tw.storage.records import unchecked

H = b"\x01" * 32


def block(**fields):
    """A valid ``BlockWrite`` of block 1 with ``fields`` replaced."""
    values = dict(number=1, block_hash=H, wal_record=b"w", block_record=b"r")
    values.update(fields)
    return BlockWrite(**values)


class BlockWriteTests(TestCase):
    """Validation of ``BlockWrite``."""

    def test_valid(self):
        """A well-formed block write is accepted and is immutable."""
        bw = block(
            transactions=(TxWrite(H, b"t", b"r"),),
            logs=(LogWrite(0, 0, b"\x02" * 20, (H,), b""),),
            state_writes=((H, H),),
            preimages=((H, b"p"),),
            tree_patch=((b"k", b"v"),),
        )
        self.assertEqual(bw.number, 1)
        self.assertRaises(AttributeError, setattr, bw, "number", 2)

    def test_bad_number(self):
        """Block numbers are u64 ints."""
        for number in (-1, 2**64, "1", True):
            self.assertRaises(StorageError, block, number=number)

    def test_bad_hash(self):
        """The block hash is 32 bytes."""
        self.assertRaises(StorageError, block, block_hash=b"\x01" * 31)
        self.assertRaises(StorageError, block, wal_record="w")

    def test_lists_must_be_tuples(self):
        """Collections are tuples (the record is frozen)."""
        self.assertRaises(StorageError, block, state_writes=[(H, H)])

    def test_bad_state_write(self):
        """State keys and values are 32 bytes; a key appears once per block."""
        self.assertRaises(StorageError, block, state_writes=((H, b"\x00"),))
        self.assertRaises(StorageError, block, state_writes=((b"\x00", H),))
        e = self.assertRaises(StorageError, block, state_writes=((H, H), (H, b"\x02" * 32)))
        self.assertIn("twice", str(e))

    def test_duplicate_transaction(self):
        """A transaction appears once per block."""
        tx = TxWrite(H, b"t", b"r")
        self.assertRaises(StorageError, block, transactions=(tx, tx))
        self.assertRaises(StorageError, block, transactions=("tx",))

    def test_bad_tree_patch(self):
        """Tree node keys are 1 to 256 bytes."""
        self.assertRaises(StorageError, block, tree_patch=((b"", b"v"),))
        self.assertRaises(StorageError, block, tree_patch=((b"k" * 257, b"v"),))

    def test_bad_preimage(self):
        """Preimage hashes are 32 bytes."""
        self.assertRaises(StorageError, block, preimages=((b"\x01", b"p"),))


class PartTests(TestCase):
    """Validation of ``TxWrite`` and ``LogWrite``."""

    def test_tx(self):
        """Transaction hashes are 32 bytes; bodies are bytes."""
        self.assertRaises(StorageError, TxWrite, b"\x01", b"t", b"r")
        self.assertRaises(StorageError, TxWrite, H, "t", b"r")

    def test_log(self):
        """Logs have a 20-byte address and at most four 32-byte topics."""
        self.assertRaises(StorageError, LogWrite, 0, 0, b"\x01" * 19, (), b"")
        self.assertRaises(StorageError, LogWrite, 0, 0, b"\x01" * 20, (H,) * 5, b"")
        self.assertRaises(StorageError, LogWrite, 0, 0, b"\x01" * 20, [H], b"")
        self.assertRaises(StorageError, LogWrite, -1, 0, b"\x01" * 20, (), b"")


class AddressIndexWriteTests(TestCase):
    """Validation of ``AddressIndexWrite`` and of the index a ``BlockWrite`` carries."""

    def test_valid(self):
        """A well-formed entry for a transaction of the block is accepted."""
        entry = AddressIndexWrite(0, H, ((b"\x02" * 20, ROLE_SENDER),), (b"\x02" * 20, 7))
        bw = block(transactions=(TxWrite(H, b"t", b"r"),), address_index=(entry,))
        self.assertEqual(bw.address_index, (entry,))

    def test_bad_fields(self):
        """Addresses are 20 bytes, roles a non-empty set of known bits, nonces u64."""
        a = b"\x02" * 20
        for args in (
            (0, H, ((b"\x02" * 19, 1),)),
            (0, H, ((a, 0),)),
            (0, H, ((a, 32),)),
            (0, H, ((a, 1), (a, 2))),
            (0, H, (), (a, -1)),
            (0, H, (), None, ((a, b"x"),)),
            (0, H, [(a, 1)]),
        ):
            self.assertRaises(StorageError, AddressIndexWrite, *args)

    def test_entry_must_name_a_transaction(self):
        """An entry names a transaction of the block by index and hash, once."""
        tx = TxWrite(H, b"t", b"r")
        entry = AddressIndexWrite(0, H)
        self.assertRaises(StorageError, block, address_index=(entry,))
        self.assertRaises(
            StorageError,
            block,
            transactions=(tx,),
            address_index=(AddressIndexWrite(0, b"\x03" * 32),),
        )
        self.assertRaises(StorageError, block, transactions=(tx,), address_index=(entry, entry))
        self.assertRaises(StorageError, block, transactions=(tx,), address_index=[entry])


class UncheckedTests(TestCase):
    """``unchecked``: the block sink's way to build records without the per-item checks."""

    def test_same_record(self):
        """A record built unchecked equals the one the constructor builds."""
        self.assertEqual(unchecked(TxWrite, H, b"t", b"r"), TxWrite(H, b"t", b"r"))
        entry = AddressIndexWrite(0, H, ((b"\x02" * 20, ROLE_SENDER),), (b"\x02" * 20, 3), ())
        self.assertEqual(
            unchecked(
                AddressIndexWrite, 0, H, ((b"\x02" * 20, ROLE_SENDER),), (b"\x02" * 20, 3), ()
            ),
            entry,
        )
        built = unchecked(BlockWrite, 1, H, b"w", b"r", (), (), (), (), (), b"", ())
        self.assertEqual(built, block())
        self.assertRaises(AttributeError, setattr, built, "number", 2)

    def test_every_field(self):
        """Every field must be given, in order."""
        self.assertRaises(TypeError, unchecked, TxWrite, H, b"t")

    def test_storage_still_checks_uniqueness(self):
        """``check_unique`` (which ``write_block`` runs) refuses what the constructor would."""
        tx = TxWrite(H, b"t", b"r")
        twice = unchecked(BlockWrite, 1, H, b"w", b"r", (tx, tx), (), (), (), (), b"", ())
        self.assertRaises(StorageError, twice.check_unique)
        key_twice = unchecked(
            BlockWrite, 1, H, b"w", b"r", (), (), ((H, H), (H, H)), (), (), b"", ()
        )
        e = self.assertRaises(StorageError, key_twice.check_unique)
        self.assertIn("twice", str(e))
