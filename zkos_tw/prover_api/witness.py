"""State readers around the prover input's witness (issue #12 item 2).

On the node, ``RecordingReader`` and ``RecordingPreimages`` wrap the pre-block ``IStateReader``
and ``IPreimages`` that a block executes over, and note every key and preimage it reads; those
are what ``block_input_from_tree`` proves. On a worker, ``WitnessReader`` and
``WitnessPreimages`` serve the same reads from a ``BlockInput`` alone (after
``verify_witness``): a key or preimage outside the witness raises ``MissingWitness``, and a
preimage whose hash does not match is refused.
"""

from __future__ import annotations

from zope.interface import implementer

from zkos_tw.hashing import blake2s256
from zkos_tw.interfaces import IPreimages, IStateReader
from zkos_tw.prover_api.prover_input import BlockInput, MissingWitness, ProverInputError


@implementer(IStateReader)
class RecordingReader:
    """An ``IStateReader`` that notes the keys read through it (``keys``)."""

    def __init__(self, reader):
        self._reader = reader
        self.keys: set[bytes] = set()

    def read(self, key):
        self.keys.add(bytes(key))
        return self._reader.read(key)


@implementer(IPreimages)
class RecordingPreimages:
    """An ``IPreimages`` that notes the preimages found through it (``found``: hash -> bytes)."""

    def __init__(self, preimages):
        self._preimages = preimages
        self.found: dict[bytes, bytes] = {}

    def get(self, hash):
        value = self._preimages.get(hash)
        if value is not None:
            self.found[bytes(hash)] = value
        return value


@implementer(IStateReader)
class WitnessReader:
    """The pre-block state of one ``BlockInput``, from its checked witness only."""

    def __init__(self, block: BlockInput):
        self._block = block
        self._values = block.verify_witness()

    def read(self, key):
        return self._block.read(bytes(key), self._values)


@implementer(IPreimages)
class WitnessPreimages:
    """The preimages of one ``BlockInput``; each is checked against its blake2s hash."""

    def __init__(self, block: BlockInput):
        self._number = block.context.number
        self._preimages = {}
        for digest, preimage in block.preimages:
            if blake2s256(preimage) != digest:
                raise ProverInputError(
                    f"block {self._number}: preimage of 0x{digest.hex()} does not hash to it"
                )
            self._preimages[digest] = preimage

    def get(self, hash):
        try:
            return self._preimages[bytes(hash)]
        except KeyError:
            raise MissingWitness(
                f"block {self._number} reads preimage 0x{bytes(hash).hex()}, "
                "which is not in the witness"
            ) from None
