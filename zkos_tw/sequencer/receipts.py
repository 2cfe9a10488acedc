"""Stored transaction receipts (record v1) and the block's logs bloom.

Receipt record v1: ``0x01 || rlp([type, status, cumulative_gas_used, gas_used,
effective_gas_price, from, to|"", contract_address|"", [[address, [topics], data], ...],
l2_to_l1_logs])``. ``l2_to_l1_logs`` is empty for L2 transactions; L1 transactions (issue #7)
carry one entry ``[shard_id, is_service, tx_number_in_block, sender, key, value]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp

from zkos_tw import rlp_fast
from zkos_tw.execution.receipts import Log, logs_bloom

RECEIPT_RECORD_V1 = 1
_RECORD_V1 = bytes([RECEIPT_RECORD_V1])


class ReceiptFormatError(ValueError):
    """A stored receipt record cannot be decoded."""


def _int(b: bytes) -> int:
    return int.from_bytes(b, "big")


@dataclass(frozen=True)
class StoredReceipt:
    """A receipt as the repository keeps it (everything the RPC shows but block-level fields)."""

    tx_type: int
    succeeded: bool
    cumulative_gas_used: int
    gas_used: int
    effective_gas_price: int
    sender: bytes
    to: bytes | None
    contract_address: bytes | None
    logs: tuple[Log, ...]
    l2_to_l1_logs: tuple = ()

    @property
    def bloom(self) -> bytes:
        return logs_bloom(self.logs)

    def encode(self) -> bytes:
        if not self.logs and not self.l2_to_l1_logs and self.contract_address is None:
            return _encode_plain(self)
        uint = rlp_fast.encode_uint
        string = rlp_fast.encode_bytes
        logs = (
            rlp_fast.encode([[log.address, list(log.topics), log.data] for log in self.logs])
            if self.logs
            else b"\xc0"
        )
        l2_logs = (
            rlp_fast.encode([list(entry) for entry in self.l2_to_l1_logs])
            if self.l2_to_l1_logs
            else b"\xc0"
        )
        # Field by field rather than through ``rlp_fast.encode`` of the whole list: this runs
        # once per transaction when a block is stored.
        body = rlp_fast.encode_encoded_list(
            (
                uint(self.tx_type),
                b"\x01" if self.succeeded else b"\x80",
                uint(self.cumulative_gas_used),
                uint(self.gas_used),
                uint(self.effective_gas_price),
                string(self.sender),
                string(self.to or b""),
                string(self.contract_address or b""),
                logs,
                l2_logs,
            )
        )
        return _RECORD_V1 + body

    @classmethod
    def decode(cls, record: bytes) -> StoredReceipt:
        if not record or record[0] != RECEIPT_RECORD_V1:
            version = record[0] if record else None
            raise ReceiptFormatError(f"unknown receipt record version {version}")
        try:
            (tx_type, status, cumulative, gas_used, price, sender, to, created, logs, l2_logs) = (
                rlp_fast.decode(record[1:])
            )
            decoded_logs = tuple(Log(a, tuple(t), d) for a, t, d in logs)
        except (rlp.exceptions.DecodingError, ValueError) as e:
            raise ReceiptFormatError(f"malformed receipt record: {e}") from None
        return cls(
            tx_type=_int(tx_type),
            succeeded=_int(status) == 1,
            cumulative_gas_used=_int(cumulative),
            gas_used=_int(gas_used),
            effective_gas_price=_int(price),
            sender=sender,
            to=to or None,
            contract_address=created or None,
            logs=decoded_logs,
            l2_to_l1_logs=tuple(tuple(entry) for entry in l2_logs),
        )


_uint = rlp_fast.encode_uint
_length_prefix = rlp_fast._length_prefix
#: RLP of an empty string (absent ``contract_address``) and an empty list (no logs), twice.
_NO_CREATION_NO_LOGS = b"\x80\xc0\xc0"


def _encode_plain(receipt: StoredReceipt) -> bytes:
    """``encode`` of a receipt without logs, L2->L1 logs or a created contract (a transfer,
    most of a block): the same bytes, with fewer calls (one per transaction on the block
    path; tests compare it with the general form)."""
    sender, to = receipt.sender, receipt.to
    payload = b"".join(
        (
            _uint(receipt.tx_type),
            b"\x01" if receipt.succeeded else b"\x80",
            _uint(receipt.cumulative_gas_used),
            _uint(receipt.gas_used),
            _uint(receipt.effective_gas_price),
            b"\x94" + sender if len(sender) == 20 else rlp_fast.encode_bytes(sender),
            b"\x80" if not to else b"\x94" + to if len(to) == 20 else rlp_fast.encode_bytes(to),
            _NO_CREATION_NO_LOGS,
        )
    )
    return _RECORD_V1 + _length_prefix(len(payload), 0xC0) + payload


def block_bloom(receipts) -> bytes:
    """The bloom over every log of the block (what the RPC shows as ``logsBloom``)."""
    return logs_bloom([log for receipt in receipts for log in receipt.logs])
