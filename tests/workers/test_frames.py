"""The worker <-> sequencer frames, version 2: golden bytes, round trips, refusals."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.execution.transactions import Transaction, decode_transaction
from zkos_tw.load.signing import Signer
from zkos_tw.workers import frames as f

HASH = bytes(range(32))
SENDER = bytes([0xAA]) * 20
#: Not a real signed transaction: the codec carries the fields and does not check them.
TX = Transaction(
    tx_type=2, chain_id=270, nonce=5, gas_price=0, max_priority_fee_per_gas=1,
    max_fee_per_gas=2, gas=21000, to=b"\xbb" * 20, value=3, data=b"\xde\xad",
    access_list=((b"\xcc" * 20, (7,)),), v=1, r=8, s=9, signing_hash=b"\x55" * 32,
    raw=b"\x02\xde\xad",
)  # fmt: skip


def u256(value: int) -> str:
    return "%064x" % value


class GoldenBytesTests(SynchronousTestCase):
    def test_submit(self):
        """Header (version 2, kind 1, length), request, count, then per transaction hash,
        sender, the fixed fields, the access list and the raw bytes."""
        item = f.Submission(HASH, SENDER, TX.raw, TX)
        data = f.encode_submit(7, [item])
        fields = (
            "02" + "03" + "%016x" % 270 + "%016x" % 5 + "%016x" % 21000
            + u256(0) + u256(1) + u256(2) + u256(3) + u256(1) + u256(8) + u256(9)
            + "55" * 32 + "bb" * 20 + "00000001" + "00000002"
        )  # fmt: skip
        access = "0001" + "cc" * 20 + "0001" + u256(7)
        body = (
            "00000007" + "0001" + HASH.hex() + "aa" * 20 + fields + access + "00000003" + "02dead"
        )
        self.assertEqual(data.hex(), "0201" + "%08x" % (len(body) // 2) + body)
        self.assertEqual(f.decode_submit(data[6:]), (7, [item]))

    def test_submit_legacy_creation(self):
        """A pre-EIP-155 legacy creation: flags 0 (no chain id, no ``to``), empty data and
        access list; the decoded ``Transaction`` equals the original."""
        tx = Transaction(
            tx_type=0, chain_id=None, nonce=0, gas_price=9, max_priority_fee_per_gas=9,
            max_fee_per_gas=9, gas=60000, to=None, value=0, data=b"", v=27, r=1, s=2,
            signing_hash=b"\x11" * 32, raw=b"\xc0",
        )  # fmt: skip
        data = f.encode_submit(1, [f.Submission(HASH, SENDER, tx.raw, tx)])
        self.assertEqual(data[6 + 6 + 52 : 6 + 6 + 54].hex(), "0000")
        request, [item] = f.decode_submit(data[6:])
        self.assertEqual(item.tx, tx)
        self.assertIsNone(item.tx.chain_id)
        self.assertIsNone(item.tx.to)

    def test_submit_real_transaction(self):
        """A signed transaction decoded by the worker comes out equal to ``decode_transaction``
        of its bytes, without it (``encode_submit`` decodes ``raw`` when ``tx`` is ``None``)."""
        signed = Signer(b"\x01" * 32).sign_1559(
            chain_id=270, nonce=3, max_priority_fee=1, max_fee=10**9, gas=30000,
            to=b"\x22" * 20, value=5, data=b"\x00\x01",
        )  # fmt: skip
        raw = bytes.fromhex(signed.raw_hex[2:])
        data = f.encode_submit(2, [f.Submission(HASH, SENDER, raw)])
        [item] = f.decode_submit(data[6:])[1]
        self.assertEqual(item.tx, decode_transaction(raw))
        self.assertEqual(item.raw, raw)

    def test_answers(self):
        """A hash is ``00 hash``, an error ``01 length text``."""
        data = f.encode_answers(1, [HASH, "nonce too low"])
        self.assertEqual(
            data.hex(),
            "0202" + "00000037" + "00000001" + "0002" + "00" + HASH.hex() + "01" + "000d"
            + b"nonce too low".hex(),
        )  # fmt: skip
        self.assertEqual(f.decode_answers(data[6:]), (1, [HASH, "nonce too low"]))

    def test_query_and_reply(self):
        query = f.encode_query(2, f.PENDING_NONCE, SENDER)
        self.assertEqual(query.hex(), "0203" + "00000019" + "00000002" + "01" + "aa" * 20)
        self.assertEqual(f.decode_query(query[6:]), (2, f.PENDING_NONCE, SENDER))
        reply = f.encode_reply(2, f.encode_u64(5))
        self.assertEqual(reply.hex(), "0204" + "0000000d" + "00000002" + "01" + "0000000000000005")
        self.assertEqual(f.decode_reply(reply[6:]), (2, f.encode_u64(5)))
        self.assertEqual(f.encode_reply(3, None).hex(), "0204" + "00000005" + "00000003" + "00")
        self.assertEqual(f.decode_reply(f.encode_reply(3, None)[6:]), (3, None))

    def test_head_pending_watch(self):
        head = f.encode_head(f.Head(10, 8, 6))
        self.assertEqual(
            head.hex(), "0205" + "00000029" + "%016x%016x%016x" % (10, 8, 6) + "00" + "00" * 16
        )
        self.assertEqual(f.decode_head(head[6:]), f.Head(10, 8, 6))
        with_batches = f.encode_head(f.Head(10, 8, 6, 3, 2))
        self.assertEqual(with_batches[30:].hex(), "01" + "%016x%016x" % (3, 2))
        self.assertEqual(f.decode_head(with_batches[6:]), f.Head(10, 8, 6, 3, 2))
        self.assertEqual(f.encode_watch_pending(True).hex(), "0206" + "00000001" + "01")
        pending = f.encode_pending(HASH, SENDER, b"\x01")
        self.assertEqual(pending.hex(), "0207" + "00000035" + HASH.hex() + "aa" * 20 + "01")
        self.assertEqual(f.decode_pending(pending[6:]), f.Submission(HASH, SENDER, b"\x01"))

    def test_filter_call_and_result(self):
        """FILTER_CALL: request, worker:u16, call, the id in ASCII; FILTER_RESULT: request,
        status, JSON; a relayed result keeps its bytes under another request id."""
        call = f.encode_filter_call(5, 1, f.FILTER_CHANGES, "0x1a01")
        self.assertEqual(
            call.hex(), "0208" + "0000000d" + "00000005" + "0001" + "01" + b"0x1a01".hex()
        )
        self.assertEqual(f.decode_filter_call(call[6:]), (5, 1, f.FILTER_CHANGES, "0x1a01"))
        result = f.encode_filter_result(5, True, ["0xab"])
        self.assertEqual(result.hex(), "0209" + "0000000d" + "00000005" + "00" + b'["0xab"]'.hex())
        self.assertEqual(f.decode_filter_result(result[6:]), (5, True, ["0xab"]))
        error = f.encode_filter_result(6, False, {"code": -32603, "message": "filter not found"})
        self.assertEqual(error[10], 1)
        self.assertEqual(
            f.decode_filter_result(error[6:]),
            (6, False, {"code": -32603, "message": "filter not found"}),
        )
        self.assertEqual(f.filter_result_request(result[6:]), 5)
        moved = f.readdress_filter_result(result[6:], 0x01020304)
        self.assertEqual(moved.hex(), "0209" + "0000000d" + "01020304" + "00" + b'["0xab"]'.hex())
        with self.assertRaises(f.FrameError):
            f.decode_filter_result(b"\x00\x00\x00\x01\x02[]")

    def test_metrics(self):
        """METRICS: the families as compact JSON."""
        families = [["x", "counter", "an x", [["x_total", {"method": "m"}, 1.0]]]]
        data = f.encode_metrics(families)
        body = b'[["x","counter","an x",[["x_total",{"method":"m"},1.0]]]]'
        self.assertEqual(data, b"\x02\x0a" + len(body).to_bytes(4, "big") + body)
        self.assertEqual(f.decode_metrics(data[6:]), families)
        with self.assertRaises(f.FrameError):
            f.decode_metrics(b"{}")


class ReaderTests(SynchronousTestCase):
    def test_frames_split_anywhere(self):
        """Frames cut at any byte come out whole, in order."""
        data = (
            f.encode_head(f.Head(1, 1, 1))
            + f.encode_answers(9, ["x"])
            + f.encode_head(f.Head(2, 2, 2, 1, 0))
        )
        for cut in range(len(data) + 1):
            reader = f.FrameReader()
            out = reader.feed(data[:cut]) + reader.feed(data[cut:])
            self.assertEqual([kind for kind, _ in out], [f.HEAD, f.ANSWERS, f.HEAD], cut)

    def test_other_version_refused(self):
        with self.assertRaises(f.FrameError) as ctx:
            f.FrameReader().feed(b"\x01\x05\x00\x00\x00\x00")
        self.assertIn("version 1", str(ctx.exception))

    def test_oversized_refused(self):
        with self.assertRaises(f.FrameError):
            f.FrameReader().feed(f.HEADER.pack(2, f.SUBMIT, f.MAX_BODY + 1))

    def test_cut_submit_refused(self):
        body = f.encode_submit(1, [f.Submission(HASH, SENDER, TX.raw, TX)])[6:-1]
        with self.assertRaises(f.FrameError):
            f.decode_submit(body)
