"""Proof storage (reference §5.5): one JSON batch envelope per batch, in a directory.

The layout is the reference's file-backed object store: bucket ``fri_batch_envelopes``, key
``fri_batch_envelope_{N}.json``, so ``<base>/fri_batch_envelopes/fri_batch_envelope_{N}.json``.
The content is the reference's serde JSON, whose outer key is the format version:
``{"V1": {"batch": BatchMetadata, "data": FriProof}}``. One codec per version; a file with
another version, or one that does not parse, raises ``ProofStorageError`` naming the file.

Writes are atomic: a temporary file in the same directory is written, fsynced, renamed over the
key and the directory fsynced, so a killed process leaves either the old file or the new one
(and possibly a ``.tmp`` file, which readers ignore). See ``docs/proving.md``.
"""

from __future__ import annotations

import json
import os
import re
from bisect import insort
from pathlib import Path

from zope.interface import implementer

from zkos_tw.batcher.info import (
    FAKE,
    BatchEnvelope,
    BatchMetadata,
    CommitBatchInfo,
    Proof,
    StoredBatchInfo,
)
from zkos_tw.interfaces import IProofStorage

#: The object-store bucket (a directory under the base path).
BUCKET = "fri_batch_envelopes"
#: The version this codec writes, and the serde tag that carries it.
VERSION = 1
_KEY = re.compile(r"^fri_batch_envelope_(0|[1-9][0-9]*)\.json$")
#: ``proving_execution_version`` of a legacy ``{"Real": [bytes]}`` proof (§5.3: missing => 2).
LEGACY_PROVING_EXECUTION_VERSION = 2


class ProofStorageError(Exception):
    """A stored envelope that cannot be read: corrupt, or of a version this node does not know."""


def key_for(batch_number: int) -> str:
    """The object key (file name) of a batch's envelope."""
    return f"fri_batch_envelope_{batch_number}.json"


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _unhex(value: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"not a 0x-hex string: {value!r}")
    return bytes.fromhex(value[2:])


def _uint(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not an unsigned integer: {value!r}")
    return value


def _byte_list(value) -> bytes:
    if not isinstance(value, list):
        raise ValueError("not a JSON array of bytes")
    return bytes(value)


#: the JSON text of each byte value
_BYTE_TEXT = [str(i) for i in range(256)]
#: stands in for a byte array while ``json.dumps`` runs; no other stored string holds a NUL
_PLACEHOLDER = "\0bytes:{}"


def byte_array_json(data: bytes) -> str:
    """``json.dumps(list(data))`` in compact form, ~4x faster (a batch's pubdata is ~100 KB)."""
    return "[" + ",".join([_BYTE_TEXT[b] for b in data]) + "]"


def dumps_with_byte_arrays(obj, arrays: list[bytes]) -> str:
    """Compact ``json.dumps(obj)`` where each string ``_PLACEHOLDER.format(i)`` in ``obj``
    becomes the JSON array of ``arrays[i]``'s byte values."""
    text = json.dumps(obj, separators=(",", ":"))
    for i, data in enumerate(arrays):
        quoted = json.dumps(_PLACEHOLDER.format(i))
        text = text.replace(quoted, byte_array_json(data), 1)
    return text


def _stored_to_json(info: StoredBatchInfo) -> dict:
    return {
        "batch_number": info.batch_number,
        "state_commitment": _hex(info.state_commitment),
        "number_of_layer1_txs": info.number_of_layer1_txs,
        "priority_operations_hash": _hex(info.priority_operations_hash),
        "dependency_roots_rolling_hash": _hex(info.dependency_roots_rolling_hash),
        "l2_to_l1_logs_root_hash": _hex(info.l2_to_l1_logs_root_hash),
        "commitment": _hex(info.commitment),
        "last_block_timestamp": info.last_block_timestamp,
    }


def _stored_from_json(obj: dict) -> StoredBatchInfo:
    return StoredBatchInfo(
        batch_number=_uint(obj["batch_number"]),
        state_commitment=_unhex(obj["state_commitment"]),
        number_of_layer1_txs=_uint(obj["number_of_layer1_txs"]),
        priority_operations_hash=_unhex(obj["priority_operations_hash"]),
        dependency_roots_rolling_hash=_unhex(obj["dependency_roots_rolling_hash"]),
        l2_to_l1_logs_root_hash=_unhex(obj["l2_to_l1_logs_root_hash"]),
        commitment=_unhex(obj["commitment"]),
        # ``Option<u64>`` in the reference ("unused"): null or absent reads as 0
        last_block_timestamp=_uint(obj.get("last_block_timestamp") or 0),
    )


def _commit_to_json(info: CommitBatchInfo, da_input) -> dict:
    return {
        "batch_number": info.batch_number,
        "new_state_commitment": _hex(info.new_state_commitment),
        "number_of_layer1_txs": info.number_of_layer1_txs,
        "priority_operations_hash": _hex(info.priority_operations_hash),
        "dependency_roots_rolling_hash": _hex(info.dependency_roots_rolling_hash),
        "l2_to_l1_logs_root_hash": _hex(info.l2_to_l1_logs_root_hash),
        "l2_da_validator": _hex(info.l2_da_validator),
        "da_commitment": _hex(info.da_commitment),
        "first_block_timestamp": info.first_block_timestamp,
        "last_block_timestamp": info.last_block_timestamp,
        "chain_id": info.chain_id,
        "chain_address": _hex(info.chain_address),
        "operator_da_input": da_input,
        "upgrade_tx_hash": None if info.upgrade_tx_hash is None else _hex(info.upgrade_tx_hash),
    }


def _commit_from_json(obj: dict, byte_arrays: bool) -> CommitBatchInfo:
    upgrade = obj["upgrade_tx_hash"]
    da_input = obj["operator_da_input"]
    return CommitBatchInfo(
        batch_number=_uint(obj["batch_number"]),
        new_state_commitment=_unhex(obj["new_state_commitment"]),
        number_of_layer1_txs=_uint(obj["number_of_layer1_txs"]),
        priority_operations_hash=_unhex(obj["priority_operations_hash"]),
        dependency_roots_rolling_hash=_unhex(obj["dependency_roots_rolling_hash"]),
        l2_to_l1_logs_root_hash=_unhex(obj["l2_to_l1_logs_root_hash"]),
        l2_da_validator=_unhex(obj["l2_da_validator"]),
        da_commitment=_unhex(obj["da_commitment"]),
        first_block_timestamp=_uint(obj["first_block_timestamp"]),
        last_block_timestamp=_uint(obj["last_block_timestamp"]),
        chain_id=_uint(obj["chain_id"]),
        chain_address=_unhex(obj["chain_address"]),
        operator_da_input=_byte_list(da_input) if byte_arrays else _unhex(da_input),
        upgrade_tx_hash=None if upgrade is None else _unhex(upgrade),
    )


def metadata_to_json(meta: BatchMetadata, *, byte_arrays: bool = True, da_input=None) -> dict:
    """The reference's serde JSON object of a ``BatchMetadata`` (also used by the batch store).

    ``byte_arrays=False`` gives ``operator_da_input`` as a 0x-hex string (the batch store's V2);
    ``da_input``, when given, stands in for it (see ``dumps_with_byte_arrays``)."""
    info = meta.commit_batch_info
    if da_input is None:
        da_input = list(info.operator_da_input) if byte_arrays else _hex(info.operator_da_input)
    return {
        "previous_stored_batch_info": _stored_to_json(meta.previous_stored_batch_info),
        "commit_batch_info": _commit_to_json(info, da_input),
        "first_block_number": meta.first_block_number,
        "last_block_number": meta.last_block_number,
        "tx_count": meta.tx_count,
        "execution_version": meta.execution_version,
    }


def metadata_from_json(meta: dict, *, byte_arrays: bool = True) -> BatchMetadata:
    """The ``BatchMetadata`` of a JSON object; ``KeyError``/``TypeError``/``ValueError`` if it is
    malformed (callers wrap them in their own error naming the record). ``byte_arrays=False``
    reads ``operator_da_input`` as a 0x-hex string (the batch store's V2)."""
    return BatchMetadata(
        previous_stored_batch_info=_stored_from_json(meta["previous_stored_batch_info"]),
        commit_batch_info=_commit_from_json(meta["commit_batch_info"], byte_arrays),
        first_block_number=_uint(meta["first_block_number"]),
        last_block_number=_uint(meta["last_block_number"]),
        tx_count=_uint(meta["tx_count"]),
        execution_version=_uint(meta.get("execution_version", 1)),
    )


def _proof_to_json(proof: Proof, data=None):
    if proof.fake:
        return FAKE
    return {
        "Real": {
            "proof": list(proof.data) if data is None else data,
            "proving_execution_version": proof.proving_execution_version,
        }
    }


def _proof_from_json(obj) -> Proof:
    if obj == FAKE:
        return Proof.fake_proof()
    real = obj["Real"]
    if isinstance(real, list):  # legacy V1 proof: bytes only
        return Proof(False, _byte_list(real), LEGACY_PROVING_EXECUTION_VERSION)
    return Proof(False, _byte_list(real["proof"]), _uint(real["proving_execution_version"]))


def encode_envelope(envelope: BatchEnvelope) -> bytes:
    """The V1 JSON bytes of ``envelope`` (compact, keys in the reference's struct order).

    ``stage_times`` are not stored. Raises ``ValueError`` if the envelope has no FRI proof."""
    if envelope.fri_proof is None:
        raise ValueError(f"batch {envelope.number} has no FRI proof to store")
    arrays = [envelope.batch.commit_batch_info.operator_da_input, envelope.fri_proof.data]
    body = {
        f"V{VERSION}": {
            "batch": metadata_to_json(envelope.batch, da_input=_PLACEHOLDER.format(0)),
            "data": _proof_to_json(envelope.fri_proof, _PLACEHOLDER.format(1)),
        }
    }
    return dumps_with_byte_arrays(body, arrays).encode("ascii")


def decode_envelope(data: bytes, name: str = "<bytes>") -> BatchEnvelope:
    """The envelope stored as ``data``; ``ProofStorageError`` naming ``name`` if it is not a
    V1 envelope."""
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        raise ProofStorageError(f"{name}: not JSON: {e}") from e
    if not isinstance(obj, dict) or len(obj) != 1:
        raise ProofStorageError(f"{name}: not a versioned envelope (one key such as 'V1')")
    (tag,) = obj
    if tag != f"V{VERSION}":
        raise ProofStorageError(f"{name}: unknown envelope version {tag!r} (this node reads V1)")
    try:
        body = obj[tag]
        batch = metadata_from_json(body["batch"])
        return BatchEnvelope(batch, _proof_from_json(body["data"]))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ProofStorageError(f"{name}: corrupt V1 envelope: {e!r}") from e


def find_batch_for_block(storage, numbers: list[int], block: int) -> int | None:
    """Binary search of ascending stored batch ``numbers`` for the one whose block range holds
    ``block``; ``None`` if none does. Shared by the implementations of ``IProofStorage``."""
    lo, hi = 0, len(numbers)
    while lo < hi:
        mid = (lo + hi) // 2
        meta = storage.get(numbers[mid]).batch
        if block < meta.first_block_number:
            hi = mid
        elif block > meta.last_block_number:
            lo = mid + 1
        else:
            return numbers[mid]
    return None


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@implementer(IProofStorage)
class FileProofStorage:
    """Envelopes as files under ``<base>/fri_batch_envelopes/`` (created if missing).

    The stored batch numbers are listed once when opened and kept up to date by ``put``; one
    process writes a directory at a time."""

    def __init__(self, base: str | os.PathLike) -> None:
        self.directory = Path(base) / BUCKET
        self.directory.mkdir(parents=True, exist_ok=True)
        self._numbers = sorted(
            int(m.group(1)) for m in map(_KEY.match, os.listdir(self.directory)) if m
        )

    def path_for(self, batch_number: int) -> Path:
        """The file a batch's envelope is stored in."""
        return self.directory / key_for(batch_number)

    def put(self, envelope: BatchEnvelope) -> None:
        """Store (or overwrite) ``envelope`` atomically and durably."""
        data = encode_envelope(envelope)
        number = envelope.number
        path = self.path_for(number)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, path)
        _fsync_directory(self.directory)
        if number not in self._numbers:
            insort(self._numbers, number)

    def get(self, batch_number: int) -> BatchEnvelope | None:
        """The stored envelope of ``batch_number``, or ``None``."""
        path = self.path_for(batch_number)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        envelope = decode_envelope(data, str(path))
        if envelope.number != batch_number:
            raise ProofStorageError(f"{path}: holds batch {envelope.number}")
        return envelope

    def latest_batch(self) -> int | None:
        """The highest stored batch number, or ``None`` if nothing is stored."""
        return self._numbers[-1] if self._numbers else None

    def batch_for_block(self, block_number: int) -> int | None:
        """The stored batch whose block range holds ``block_number``, or ``None``."""
        return find_batch_for_block(self, self._numbers, block_number)
