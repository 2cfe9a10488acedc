"""callTracer differential: the same transactions on our node and on a real anvil, traced with
``debug_traceTransaction`` on both, give the same call trees.

Normalisations (each legitimately differs between the two chains):

1. addresses of the contracts the test deploys: replaced by ``<name>`` (they depend on the
   sender's nonce on each chain);
   — also inside hex strings (the root's creation code holds them);
2. the top frame's ``gas``: we give geth's value (the transaction's gas limit), anvil gives the
   limit minus the intrinsic gas; anvil's is compared with ours minus the intrinsic gas.

prestateTracer (default mode), besides 1:

3. the coinbase is dropped on both sides (each chain's own, with its own fee income; on our
   --dev node it is the sender, whose balance 4 drops);
4. the sender's ``balance`` is dropped (each chain funded it differently);
5. anvil lists the contract a create transaction makes as an empty account; geth (and we)
   leave created accounts that were empty out: dropped from anvil's answer.

Nothing else is normalised: gas, gasUsed, values, outputs, errors, revert reasons and logs
(``withLog``) must be equal. ``cast run`` of the root call prints the same tree against both.

Parity-style ``trace_*`` on the same transactions (``trace_transaction`` of each,
``trace_block`` of the root call's block, ``trace_filter`` by ``toAddress`` / ``fromAddress``
with ``after`` / ``count`` over each chain's range, ``trace_replayTransaction`` with
``["trace", "stateDiff"]``), besides 1:

6. ``blockHash``, ``blockNumber`` and ``transactionHash`` are each chain's own (its own
   blocks; the chain id is signed into the hash): replaced by the transaction's index in the
   scenario. ``transactionPosition`` is compared;
7. anvil has no ``trace_replayTransaction``: its answer is the transaction's entry of
   ``trace_replayBlockTransactions`` (the same replay), without ``transactionHash``;
8. in ``stateDiff``, as 3 and 4: the coinbase's account is dropped (on our --dev node it is
   the sender), and the sender's ``balance`` delta is dropped; its nonce is compared.

The top frame's ``gas`` needs no normalisation here: both give the gas limit minus the
intrinsic gas (revm's convention), and ``gasUsed`` is the frame's (before refunds) on both.

The ``ots_`` methods on the same transactions (``ots_results``), besides 1:

9. transaction hashes are replaced by ``<tx N>`` (they sign each chain's id and fees);
10. of blocks, only the Otterscan fields are compared: the header fields both chains have
   (``OTS_BLOCK_KEYS``: anvil adds the post-merge / blob fields, we add none of them) with
   their *values* chain-specific except ``transactionCount``, ``uncles`` and the issuance,
   and ``totalFees`` is checked on each chain against its own receipts (gas prices differ);
11. of transactions and receipts, the chain-independent fields (``TX_KEYS``, ``RECEIPT_KEYS``,
   ``LOG_KEYS``: not the fee fields, signatures, block hashes, timestamps or chain id), block
   numbers counted from the block of the first transaction (our chain has the genesis upgrade
   block besides);
12. ``ots_getBlockTransactions`` receipts: anvil keeps ``logs`` and ``logsBloom``, Erigon and the
   reference (and we) give ``null``: anvil's are set to ``null``;
13. ``ots_traceTransaction``: anvil lists the call frames only (its conversion from Parity
    traces drops CREATE / CREATE2 / SELFDESTRUCT entries), Erigon and we list every frame: the
    comparison keeps the call frames of both (ours are checked to have the creates besides);
14. ``ots_getInternalOperations``: anvil lists the transaction's own top-level operation too
    (a create transaction's CREATE, a top-level value transfer), Erigon and we only the
    *internal* ones (below the top frame): anvil's entry for the top frame is dropped.
15. the sender's funding: on our --dev node an L1 deposit (a 0x7f transaction whose initiator
    is the sender, before the scenario), on anvil ``anvil_setBalance`` (no transaction): page
    entries from blocks before the scenario's first transaction are dropped;

Everything else of the ``ots_`` answers (traces, internal operations, errors, search pages with
their ``firstPage`` / ``lastPage``, senders' nonces, contract creators) must be equal.
"""

from __future__ import annotations

import os
import subprocess

from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from web3 import Web3

from tests.execution.evm_helpers import push
from tests.integration.node_process import NodeProcess, free_port, require_anvil, sleep
from tests.integration.test_node_rpc import cast_path
from tests.tracing.programs import LOGGER, MSTORE, NOPE, POP, call, init_code, op, root
from zkos_tw.execution.forks import CANCUN
from zkos_tw.execution.interpreter import create2_address, create_address
from zkos_tw.execution.transactions import decode_transaction, intrinsic_gas
from zkos_tw.tracing.opcodes import CREATE2, DELEGATECALL

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
SELFDESTRUCT = 0xFF
ACCOUNT = Account.from_key(KEY)
TRACE = {"tracer": "callTracer", "tracerConfig": {"withLog": True}}


def scenario(w3: Web3) -> tuple[dict, list]:
    """Deploy the three contracts, call the root, make a reverting call; return the deployed
    addresses by name and the call traces of every transaction."""
    chain_id = w3.eth.chain_id
    nonce = w3.eth.get_transaction_count(ACCOUNT.address)
    hashes = []

    def send(to, data, gas=500_000):
        nonlocal nonce
        tx = {"value": 0, "gas": gas, "nonce": nonce, "chainId": chain_id, "data": data,
              "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        nonce += 1
        tx_hash = w3.eth.send_raw_transaction(ACCOUNT.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.1)
        hashes.append(tx_hash)
        return receipt

    logger = send(None, init_code(LOGGER)).contractAddress
    nope = send(None, init_code(NOPE)).contractAddress
    root_code = root(bytes.fromhex(logger[2:]), bytes.fromhex(nope[2:]))
    root_address = send(None, init_code(root_code)).contractAddress
    send(root_address, b"")
    send(nope, b"\x01\x02\x03\x04")
    traces = []
    for tx_hash in hashes:
        hex_hash = "0x" + bytes(tx_hash).hex()
        trace = w3.provider.make_request("debug_traceTransaction", [hex_hash, TRACE])
        raw = w3.provider.make_request("eth_getRawTransactionByHash", [hex_hash])["result"]
        trace["prestate"] = w3.provider.make_request(
            "debug_traceTransaction", [hex_hash, {"tracer": "prestateTracer"}]
        )
        trace["diff"] = w3.provider.make_request(
            "debug_traceTransaction",
            [hex_hash, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}],
        )
        trace["intrinsic"] = intrinsic_gas(decode_transaction(bytes.fromhex(raw[2:])), CANCUN)
        traces.append(trace)
    w3.zkos_hashes = ["0x" + bytes(h).hex() for h in hashes]
    w3.zkos_coinbase = w3.eth.get_block(w3.eth.block_number)["miner"].lower()
    w3.zkos_created = [logger.lower(), nope.lower(), root_address.lower()]
    names = {logger.lower(): "<logger>", nope.lower(): "<nope>", root_address.lower(): "<root>"}
    return names, traces


FRESH = bytes.fromhex("00000000000000000000000000000000000f4e54")
HEIR = bytes.fromhex("0000000000000000000000000000000000000e14")
INVALID_RUNTIME = init_code(b"\xfe")


def extra_code(logger: bytes, me: bytes) -> bytes:
    """A contract for the ``trace_*`` comparison only: a CALL out of gas, a DELEGATECALL, a
    CREATE2 (of code that is one INVALID), a CALL of that code ("Bad instruction"), a value
    CALL to an empty account, then SELFDESTRUCT to another empty account."""
    word = int.from_bytes(INVALID_RUNTIME.ljust(32, b"\0"), "big")
    created = create2_address(me, 1, INVALID_RUNTIME)
    return (
        call(logger, gas=100) + op(POP)
        + call(logger, kind=DELEGATECALL, out_size=0) + op(POP)
        + push(word, 32) + push(0) + op(MSTORE)
        + push(1) + push(len(INVALID_RUNTIME)) + push(0) + push(0) + op(CREATE2, POP)
        + call(created, gas=1000, out_size=0) + op(POP)
        + call(FRESH, gas=0, value=1, out_size=0) + op(POP)
        + push(int.from_bytes(HEIR, "big"), 20) + op(SELFDESTRUCT)
    )  # fmt: skip


def send_extra(w3: Web3) -> list[str]:
    """Deploy ``extra_code`` and call it with 10 wei; the two transaction hashes."""
    nonce = w3.eth.get_transaction_count(ACCOUNT.address)
    me = create_address(bytes.fromhex(ACCOUNT.address[2:]), nonce)
    logger = bytes.fromhex(w3.zkos_created[0][2:])
    hashes = []
    for to, data, value in ((None, init_code(extra_code(logger, me)), 0), (me, b"", 10)):
        tx = {"value": value, "gas": 500_000, "nonce": nonce, "chainId": w3.eth.chain_id,
              "data": data, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        nonce += 1
        tx_hash = w3.eth.send_raw_transaction(ACCOUNT.sign_transaction(tx).raw_transaction)
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.1)
        hashes.append("0x" + bytes(tx_hash).hex())
    return hashes


def parity_scenario(w3: Web3) -> dict:
    """The ``trace_*`` answers for the scenario's transactions (after ``scenario(w3)``) and
    two more (``send_extra``)."""

    def rpc(method, *params):
        answer = w3.provider.make_request(method, list(params))
        assert "error" not in answer, (method, params, answer)
        return answer["result"]

    hashes = w3.zkos_hashes + send_extra(w3)
    w3.zkos_all_hashes = hashes  # the ots_ pages list the extra two as well
    receipts = [rpc("eth_getTransactionReceipt", h) for h in hashes]
    blocks = [int(r["blockNumber"], 16) for r in receipts]
    first, last = hex(blocks[0]), hex(blocks[-1])
    logger, _, root_address = w3.zkos_created
    out = {
        "index": {h: i for i, h in enumerate(hashes)},
        "transaction": [rpc("trace_transaction", h) for h in hashes],
        "block": rpc("trace_block", hex(blocks[3])),
        "to_logger": rpc("trace_filter", {"fromBlock": first, "toBlock": last,
                                          "toAddress": [logger]}),  # fmt: skip
        "from_root": rpc("trace_filter", {"fromBlock": first, "toBlock": last,
                                          "fromAddress": [root_address]}),  # fmt: skip
        "page": rpc("trace_filter", {"fromBlock": first, "toBlock": last, "after": 1,
                                     "count": 2, "fromAddress": [ACCOUNT.address.lower()]}),
        "replay": [],
    }  # fmt: skip
    for tx_hash, number in zip(hashes, blocks, strict=True):
        answer = w3.provider.make_request("trace_replayTransaction",
                                          [tx_hash, ["trace", "stateDiff"]])  # fmt: skip
        if answer.get("error", {}).get("code") == -32601:  # anvil: normalisation 7
            (answer,) = [
                r
                for r in rpc("trace_replayBlockTransactions", hex(number), ["trace", "stateDiff"])
                if r["transactionHash"] == tx_hash
            ]
            del answer["transactionHash"]
        else:
            assert "error" not in answer, answer
            answer = answer["result"]
        out["replay"].append(answer)
    return out


def localized(traces: list, index: dict) -> list:
    """Normalisation 6 of flat traces."""
    out = []
    for trace in traces:
        trace = dict(trace)
        position = index[trace.pop("transactionHash")]
        del trace["blockHash"], trace["blockNumber"]
        trace["transaction"] = position
        out.append(trace)
    return out


def state_diff(diff: dict, w3) -> dict:
    """Normalisation 8 of a stateDiff."""
    diff = {address.lower(): dict(account) for address, account in diff.items()}
    sender = ACCOUNT.address.lower()
    if w3.zkos_coinbase != sender:
        diff.pop(w3.zkos_coinbase, None)
    if sender in diff:
        diff[sender].pop("balance", None)
    return diff


OTS_BLOCK_KEYS = ("hash", "parentHash", "number", "timestamp", "miner", "gasLimit", "gasUsed",
                  "baseFeePerGas", "logsBloom", "transactionsRoot", "extraData")  # fmt: skip
TX_KEYS = ("hash", "from", "to", "nonce", "value", "input", "type", "blockNumber",
           "transactionIndex")  # fmt: skip
RECEIPT_KEYS = ("transactionHash", "status", "gasUsed", "cumulativeGasUsed", "from", "to",
                "contractAddress", "logs", "type", "transactionIndex")  # fmt: skip


CREATE_TYPES = ("CREATE", "CREATE2", "SELFDESTRUCT")


LOG_KEYS = ("address", "topics", "data", "logIndex", "transactionHash", "transactionIndex")


def _pick(entry: dict, keys, base: int = 0) -> dict:
    """``entry``'s ``keys``, its block number counted from ``base``, its logs' ``LOG_KEYS``."""
    picked = {k: entry.get(k) for k in keys}
    if picked.get("blockNumber") is not None:
        picked["blockNumber"] = int(picked["blockNumber"], 16) - base
    if picked.get("logs") is not None:
        picked["logs"] = [_pick(log, LOG_KEYS) for log in picked["logs"]]
    return picked


def _page(page: dict, base: int) -> dict:
    """A search page with normalisations 11 (receipt ``timestamp`` checked present and dropped)
    and 15."""
    for receipt in page["receipts"]:
        assert receipt["timestamp"].startswith("0x"), receipt
    kept = [i for i, t in enumerate(page["txs"]) if int(t["blockNumber"], 16) >= base]
    return {
        "txs": [_pick(page["txs"][i], TX_KEYS, base) for i in kept],
        "receipts": [_pick(page["receipts"][i], RECEIPT_KEYS) for i in kept],
        "firstPage": page["firstPage"],
        "lastPage": page["lastPage"],
    }


def _internal(operations: list, tx: dict, receipt: dict) -> list:
    """Normalisation 14: without the entry of the transaction's own top frame."""
    to = (tx["to"] or receipt["contractAddress"] or "").lower()
    own = {"from": tx["from"].lower(), "to": to, "value": tx["value"]}
    if operations and {k: str(operations[0][k]).lower() for k in own} == own:
        return operations[1:]
    return operations


def ots_results(w3, names: dict) -> dict:
    """The ``ots_`` answers about the scenario's transactions, with normalisations 10-14 (1 and
    9 are ``normalise``'s)."""

    def ask(method, *params):
        answer = w3.provider.make_request(method, list(params))
        assert "result" in answer, (method, params, answer)
        return answer["result"]

    sender = ACCOUNT.address
    logger, nope, root_address = w3.zkos_created
    hashes = w3.zkos_hashes
    first_nonce = int(ask("eth_getTransactionByHash", hashes[0])["nonce"], 16)
    call_block = int(ask("eth_getTransactionReceipt", hashes[3])["blockNumber"], 16)
    base = int(ask("eth_getTransactionReceipt", hashes[0])["blockNumber"], 16)
    results = {
        "apiLevel": ask("ots_getApiLevel"),
        "hasCode": [ask("ots_hasCode", a, "latest") for a in (root_address, sender)],
        "trace": [
            [e for e in ask("ots_traceTransaction", h) if e["type"] not in CREATE_TYPES]
            for h in hashes
        ],
        "traceCreates": [
            [e["type"] for e in ask("ots_traceTransaction", h) if e["type"] in CREATE_TYPES]
            for h in hashes
        ],
        "internal": [
            _internal(
                ask("ots_getInternalOperations", h),
                ask("eth_getTransactionByHash", h),
                ask("eth_getTransactionReceipt", h),
            )
            for h in hashes
        ],
        "error": [ask("ots_getTransactionError", h) for h in hashes],
        "byNonce": [
            ask("ots_getTransactionBySenderAndNonce", sender, first_nonce + i)
            for i in range(len(hashes))
        ],
        "creator": [ask("ots_getContractCreator", a) for a in (*w3.zkos_created, sender)],
        "before": _page(ask("ots_searchTransactionsBefore", sender, 0, 2), base),
        "after": _page(ask("ots_searchTransactionsAfter", sender, 0, 10), base),
        "afterPage": _page(ask("ots_searchTransactionsAfter", sender, base + 2, 1), base),
        "loggerHistory": _page(ask("ots_searchTransactionsBefore", logger, 0, 10), base),
        "nopeHistory": _page(ask("ots_searchTransactionsAfter", nope, 0, 10), base),
    }
    details = ask("ots_getBlockDetails", call_block)
    assert details == ask("ots_getBlockDetailsByHash", details["block"]["hash"])
    receipt = ask("eth_getTransactionReceipt", hashes[3])
    fees = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    assert details["totalFees"] == hex(fees), (details["totalFees"], fees)
    block = details["block"]
    assert set(OTS_BLOCK_KEYS) <= set(block), sorted(set(OTS_BLOCK_KEYS) - set(block))
    assert "transactions" not in block
    results["blockDetails"] = {
        "keys": sorted(details),
        "transactionCount": block["transactionCount"],
        "uncles": block["uncles"],
        "issuance": details["issuance"],
    }
    page = ask("ots_getBlockTransactions", call_block, 0, 10)
    for entry in page["receipts"]:
        entry["logs"] = entry["logsBloom"] = None  # normalisation 12 (ours are null already)
    results["blockTransactions"] = {
        "keys": sorted(page),
        "transactionCount": page["fullblock"]["transactionCount"],
        "txs": [_pick(t, TX_KEYS, base) for t in page["fullblock"]["transactions"]],
        "receipts": [_pick(r, RECEIPT_KEYS + ("logsBloom",)) for r in page["receipts"]],
    }
    names = dict(names)
    names.update({h: f"<tx {i}>" for i, h in enumerate(w3.zkos_all_hashes)})
    return normalise(results, names)


def prestate(result: dict, w3, index: int) -> dict:
    """Normalisations 3-5 of a prestateTracer answer for transaction ``index``."""
    result = {address.lower(): dict(account) for address, account in result.items()}
    sender = ACCOUNT.address.lower()
    if sender in result:
        result[sender].pop("balance", None)
    if w3.zkos_coinbase != sender:  # our --dev node pays the fees to the rich account
        result.pop(w3.zkos_coinbase, None)
    if index < len(w3.zkos_created):
        created = w3.zkos_created[index]
        if result.get(created) == {"balance": "0x0"}:
            del result[created]
    return result


def normalise(value, names: dict):
    """Replace the deployed addresses (also inside hex strings) by their names."""
    if isinstance(value, dict):
        return {k: normalise(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, names) for v in value]
    if isinstance(value, str):
        lowered = value.lower()
        for address, name in names.items():
            lowered = lowered.replace(address[2:], name)
        return lowered
    return value


class CallTracerDifferentialTests(TestCase):
    timeout = 180
    maxDiff = None

    def compare_parity(self, mine, ours, our_names, theirs, reference, their_names):
        """The trace_* answers of both chains are equal after normalisations 1 and 6-8."""
        for key in ("transaction", "block", "to_logger", "from_root", "page"):
            ours_key, theirs_key = mine[key], theirs[key]
            if key != "transaction":
                ours_key, theirs_key = [ours_key], [theirs_key]
            for n, (a, b) in enumerate(zip(ours_key, theirs_key, strict=True)):
                self.assertEqual(
                    normalise(localized(a, mine["index"]), our_names),
                    normalise(localized(b, theirs["index"]), their_names),
                    f"{key} {n}",
                )
        self.assertEqual(len(mine["transaction"][3]), 4)  # root, logger, reverter, sha256
        self.assertEqual([t["transaction"] for t in localized(mine["to_logger"], mine["index"])],
                         [0, 3, 6, 6])  # fmt: skip
        self.assertEqual(len(mine["page"]), 2)
        extra = [t["type"] for t in mine["transaction"][6]]
        self.assertEqual(extra, ["call"] * 3 + ["create", "call", "call", "suicide"])
        self.assertEqual(mine["transaction"][6][1]["error"], "Out of gas")
        self.assertIsNone(mine["transaction"][6][1]["result"])
        self.assertEqual(mine["transaction"][6][4]["error"], "Bad instruction")
        extra_diff = mine["replay"][6]["stateDiff"]
        self.assertEqual(extra_diff["0x" + FRESH.hex()]["balance"],
                         {"*": {"from": "0x0", "to": "0x1"}})  # fmt: skip
        created = mine["transaction"][6][3]["result"]["address"]
        self.assertEqual(extra_diff[created]["code"], {"+": "0xfe"})
        for n, (a, b) in enumerate(zip(mine["replay"], theirs["replay"], strict=True)):
            a = dict(a, stateDiff=state_diff(a["stateDiff"], ours))
            b = dict(b, stateDiff=state_diff(b["stateDiff"], reference))
            self.assertEqual(normalise(a, our_names), normalise(b, their_names), f"replay {n}")
        logger = next(a for a, n in our_names.items() if n == "<logger>")
        self.assertEqual(
            mine["replay"][3]["stateDiff"][logger]["storage"],
            {f"0x{1:064x}": {"*": {"from": f"0x{0:064x}", "to": f"0x{7:064x}"}}},
        )

    async def test_same_call_trees_as_anvil(self):
        anvil = require_anvil()
        port = free_port()
        process = subprocess.Popen(
            [anvil, "--port", str(port), "--silent", "--hardfork", "cancun"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.addCleanup(process.wait)
        self.addCleanup(process.terminate)
        node = NodeProcess(os.path.abspath(self.mktemp()))
        self.addCleanup(node.cleanup)
        node.start()
        await node.wait_healthy()
        reference = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
        for _ in range(100):
            if await deferToThread(reference.is_connected):
                break
            await sleep(0.1)
        await deferToThread(
            reference.provider.make_request, "anvil_setBalance", [ACCOUNT.address, hex(10**21)]
        )
        ours = Web3(Web3.HTTPProvider(node.rpc_url))
        our_names, our_traces = await deferToThread(scenario, ours)
        their_names, their_traces = await deferToThread(scenario, reference)
        our_parity = await deferToThread(parity_scenario, ours)
        their_parity = await deferToThread(parity_scenario, reference)
        self.compare_parity(our_parity, ours, our_names, their_parity, reference, their_names)
        for index, (mine, theirs) in enumerate(zip(our_traces, their_traces, strict=True)):
            ours_pre = prestate(mine["prestate"]["result"], ours, index)
            theirs_pre = prestate(theirs["prestate"]["result"], reference, index)
            self.assertEqual(
                normalise(ours_pre, our_names),
                normalise(theirs_pre, their_names),
                f"prestate of transaction {index}",
            )
            ours_diff = {side: prestate(mine["diff"]["result"][side], ours, index)
                         for side in ("pre", "post")}  # fmt: skip
            theirs_diff = {side: prestate(theirs["diff"]["result"][side], reference, index)
                           for side in ("pre", "post")}  # fmt: skip
            self.assertEqual(
                normalise(ours_diff, our_names),
                normalise(theirs_diff, their_names),
                f"diffMode of transaction {index}",
            )
            if index == 3:  # the root call: the logger's slot 1 became 7
                logger = next(a for a, n in our_names.items() if n == "<logger>")
                self.assertEqual(
                    ours_diff["post"][logger]["storage"], {f"0x{1:064x}": f"0x{7:064x}"}
                )
        # ``cast run`` (re-executes the transaction from the node's state reads) prints the
        # same call tree against both (normalisation 1 only).
        trees = []
        for url, w3, names in ((node.rpc_url, ours, our_names),
                               (f"http://127.0.0.1:{port}", reference, their_names)):  # fmt: skip
            run = await deferToThread(
                subprocess.run,
                [cast_path(), "run", "--rpc-url", url, w3.zkos_hashes[3]],
                capture_output=True,
                text=True,
                timeout=60,
            )
            self.assertEqual(run.returncode, 0, run.stderr)
            trees.append(normalise(run.stdout, names))
        self.assertEqual(trees[0], trees[1])
        self.assertIn("[revert] nope", trees[0])
        our_ots = await deferToThread(ots_results, ours, our_names)
        their_ots = await deferToThread(ots_results, reference, their_names)
        self.assertEqual(our_ots.pop("traceCreates"), [["create"]] * 3 + [[], []])
        their_ots.pop("traceCreates")  # normalisation 13
        for key in their_ots:
            self.assertEqual(our_ots[key], their_ots[key], f"ots_ {key}")
        self.assertEqual(
            our_ots["creator"][2], {"hash": "0x<tx 2>", "creator": ACCOUNT.address.lower()}
        )
        self.assertEqual(len(our_ots["trace"][3]), 4)
        for index, (mine, theirs) in enumerate(zip(our_traces, their_traces, strict=True)):
            self.assertNotIn("error", mine, f"transaction {index}: {mine}")
            self.assertNotIn("error", theirs, f"transaction {index}: {theirs}")
            mine["result"]["gas"] = hex(int(mine["result"]["gas"], 16) - mine["intrinsic"])
            self.assertEqual(
                normalise(mine["result"], our_names),
                normalise(theirs["result"], their_names),
                f"transaction {index}",
            )
