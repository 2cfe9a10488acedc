"""``zkosctl deposit --amount WEI --to ADDRESS``: an L1 -> L2 deposit through the Bridgehub.

The equivalent of the reference's ``generate-deposit`` tool (``zksync-os-server.md`` §7.7):
L2 gas limit 500,000 (``--l2-gas-limit N``, or ``estimate`` to ask the L2 node's
``eth_estimateGas`` for the 0x7f request), gas per pubdata 800, ``maxFeePerGas = 1.5 x base fee + tip``, base cost
from ``Bridgehub.l2TransactionBaseCost(chainId, maxFee + tip, 500000, 800)``, then
``requestL2TransactionDirect{chainId, mintValue = amount + baseCost, l2Contract = to,
l2Value = amount, l2Calldata = "", l2GasLimit, 800, factoryDeps = [], refundRecipient = sender}``
with ``value = mintValue``. Prints the L1 tx hash, the L2 tx hash (the ``txHash`` of the
``NewPriorityRequest`` event) and waits for the L2 receipt.

web3.py is used as a blocking client here: this is a command-line tool, not the node.
Exit codes: 0 deposited (L2 status 1), 1 failed (one line on stderr says why), 2 usage.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal, InvalidOperation

from twisted.python import usage

from zkos_tw.config import GenesisConfig

RICH_PRIVATE_KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
L2_GAS_LIMIT = 500_000
GAS_PER_PUBDATA = 800
L1_GAS_LIMIT = 1_000_000
_UNITS = {"wei": 1, "gwei": 10**9, "eth": 10**18, "ether": 10**18}

BRIDGEHUB_ABI = [
    {
        "name": "l2TransactionBaseCost",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": n, "type": "uint256"} for n in ("c", "g", "l", "p")],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "name": "requestL2TransactionDirect",
        "type": "function",
        "stateMutability": "payable",
        "inputs": [
            {
                "name": "_request",
                "type": "tuple",
                "components": [
                    {"name": "chainId", "type": "uint256"},
                    {"name": "mintValue", "type": "uint256"},
                    {"name": "l2Contract", "type": "address"},
                    {"name": "l2Value", "type": "uint256"},
                    {"name": "l2Calldata", "type": "bytes"},
                    {"name": "l2GasLimit", "type": "uint256"},
                    {"name": "l2GasPerPubdataByteLimit", "type": "uint256"},
                    {"name": "factoryDeps", "type": "bytes[]"},
                    {"name": "refundRecipient", "type": "address"},
                ],
            }
        ],
        "outputs": [{"name": "canonicalTxHash", "type": "bytes32"}],
    },
]


class DepositError(Exception):
    """The deposit could not be made or confirmed (one line)."""


def parse_amount(text: str) -> int:
    """``"1000"`` (wei), ``"1.5eth"``, ``"2 gwei"`` -> wei; ``ValueError`` otherwise."""
    cleaned = text.strip().lower().replace(" ", "")
    unit = 1
    for name in sorted(_UNITS, key=len, reverse=True):
        if cleaned.endswith(name):
            cleaned, unit = cleaned[: -len(name)], _UNITS[name]
            break
    try:
        value = Decimal(cleaned) * unit
    except InvalidOperation:
        raise ValueError(f"--amount {text!r} is not an amount (wei, or with gwei/eth)") from None
    if value != value.to_integral_value() or value <= 0:
        raise ValueError(f"--amount {text!r} must be a positive whole number of wei")
    return int(value)


def parse_address(text: str, option: str) -> str:
    from eth_utils import is_address, to_checksum_address

    if not is_address(text):
        raise ValueError(f"{option} {text!r} is not an address (0x + 40 hex digits)")
    return to_checksum_address(text)


class Options(usage.Options):
    synopsis = "--amount WEI --to ADDRESS [options]"
    optParameters = [
        ["amount", None, None, "Amount to deposit: wei, or with a unit (1.5eth, 20gwei)"],
        ["to", None, None, "L2 recipient"],
        ["l1-rpc-url", None, "http://localhost:8545", "L1 JSON-RPC URL"],
        ["l2-rpc-url", None, "http://localhost:3050", "L2 JSON-RPC URL (for the receipt)"],
        ["private-key", None, RICH_PRIVATE_KEY, "L1 key that pays (default: the rich account)"],
        ["bridgehub", None, GenesisConfig().bridgehub_address, "Bridgehub address on L1"],
        ["chain-id", None, "270", "L2 chain id"],
        ["timeout", None, "120", "Seconds to wait for each receipt"],
        [
            "l2-gas-limit",
            None,
            str(L2_GAS_LIMIT),
            "L2 gas limit, or 'estimate' (eth_estimateGas of the 0x7f request on the L2 node)",
        ],
    ]
    optFlags = [
        ["no-wait", None, "Do not wait for the L2 receipt"],
        ["json", None, "Also print a JSON summary (hashes, priority id, L2 wait in seconds)"],
    ]

    def postOptions(self):
        try:
            if self["amount"] is None:
                raise ValueError("--amount is required")
            if self["to"] is None:
                raise ValueError("--to is required")
            self["amount"] = parse_amount(self["amount"])
            self["to"] = parse_address(self["to"], "--to")
            self["bridgehub"] = parse_address(self["bridgehub"], "--bridgehub")
            if self["l2-gas-limit"] != "estimate":
                try:
                    self["l2-gas-limit"] = int(self["l2-gas-limit"])
                except ValueError:
                    raise ValueError(
                        f"--l2-gas-limit {self['l2-gas-limit']!r} is neither a whole number "
                        "nor 'estimate'"
                    ) from None
                if self["l2-gas-limit"] <= 0:
                    raise ValueError("--l2-gas-limit must be positive")
            for name in ("chain-id", "timeout"):
                try:
                    self[name] = int(self[name])
                except ValueError:
                    raise ValueError(f"--{name} {self[name]!r} is not a whole number") from None
                if self[name] <= 0:
                    raise ValueError(f"--{name} must be positive")
            from eth_account import Account

            try:
                self["account"] = Account.from_key(self["private-key"])
            except (ValueError, TypeError):
                raise ValueError("--private-key is not a 32-byte hex private key") from None
        except ValueError as e:
            raise usage.UsageError(str(e)) from None


def _wait_receipt(
    fetch, tx_hash: str, timeout: float, what: str, clock=time, interval=0.05, waiting=None
):
    """Poll ``fetch`` until it gives a receipt; ``waiting`` (a ``Waiting``) shows the wait."""
    started = clock.monotonic()
    deadline = started + timeout
    try:
        while True:
            receipt = fetch(tx_hash)
            if receipt is not None:
                return receipt
            if clock.monotonic() >= deadline:
                raise DepositError(f"{what} receipt for {tx_hash} not seen within {timeout:g} s")
            if waiting is not None:
                waiting.update(f"waiting for the {what} receipt of {tx_hash}", started)
            clock.sleep(interval)
    finally:
        if waiting is not None:
            waiting.clear()


def _estimate_l2_gas(l2_rpc_url: str, sender: str, options, amount: int) -> int:
    """The L2 node's estimate for the deposit's L2 transaction (a 0x7f request: at least
    200,000, the L1 contracts' minimum)."""
    from web3 import Web3

    l2 = Web3(Web3.HTTPProvider(l2_rpc_url, request_kwargs={"timeout": 15}))
    request = {"type": "0x7f", "from": sender, "to": options["to"], "value": hex(amount)}
    try:
        return int(l2.provider.make_request("eth_estimateGas", [request])["result"], 16)
    except Exception as e:  # noqa: BLE001 - unreachable node, error answer, bad shape
        raise DepositError(f"cannot estimate the L2 gas limit on {l2_rpc_url}: {e}") from None


def make_deposit(options, out=sys.stdout, waiting=None) -> dict:
    """Send the deposit and (unless ``no-wait``) wait for its L2 receipt; return a summary.

    ``waiting`` (a ``zkos_tw.cli.progress.Waiting``) shows each receipt wait on a terminal."""
    from web3 import Web3
    from web3.exceptions import ContractLogicError, TransactionNotFound

    from zkos_tw.l1.events import NEW_PRIORITY_REQUEST_TOPIC, decode_priority_request

    timeout = options["timeout"]
    l1 = Web3(Web3.HTTPProvider(options["l1-rpc-url"], request_kwargs={"timeout": 15}))
    account = options["account"]
    bridgehub = l1.eth.contract(address=options["bridgehub"], abi=BRIDGEHUB_ABI)
    chain_id = options["chain-id"]
    amount = options["amount"]

    if not l1.eth.get_code(options["bridgehub"]):
        raise DepositError(f"no contract at the bridgehub address {options['bridgehub']} on L1")
    l2_gas_limit = options["l2-gas-limit"]
    if l2_gas_limit == "estimate":
        l2_gas_limit = _estimate_l2_gas(options["l2-rpc-url"], account.address, options, amount)
    base_fee = l1.eth.get_block("latest")["baseFeePerGas"]
    tip = l1.eth.max_priority_fee
    max_fee = base_fee * 3 // 2 + tip
    try:
        base_cost = bridgehub.functions.l2TransactionBaseCost(
            chain_id, max_fee + tip, l2_gas_limit, GAS_PER_PUBDATA
        ).call()
    except ContractLogicError as e:
        raise DepositError(f"Bridgehub.l2TransactionBaseCost reverted: {e}") from None
    mint_value = amount + base_cost
    request = (
        chain_id,
        mint_value,
        options["to"],
        amount,
        b"",
        l2_gas_limit,
        GAS_PER_PUBDATA,
        [],
        account.address,
    )
    call = bridgehub.functions.requestL2TransactionDirect(request)
    tx = {
        "from": account.address,
        "value": mint_value,
        "nonce": l1.eth.get_transaction_count(account.address, "pending"),
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": tip,
        "chainId": l1.eth.chain_id,
    }
    try:
        tx["gas"] = call.estimate_gas(tx)
    except ContractLogicError as e:
        raise DepositError(f"Bridgehub.requestL2TransactionDirect would revert: {e}") from None
    balance = l1.eth.get_balance(account.address)
    if balance < mint_value + tx["gas"] * max_fee:
        raise DepositError(f"{account.address} holds {balance} wei on L1, needs {mint_value} + gas")
    signed = account.sign_transaction(call.build_transaction(tx))
    l1_hash = l1.eth.send_raw_transaction(signed.raw_transaction).to_0x_hex()
    print(f"L1 tx hash: {l1_hash}", file=out, flush=True)

    def l1_receipt(h):
        try:
            return l1.eth.get_transaction_receipt(h)
        except TransactionNotFound:
            return None

    receipt = _wait_receipt(l1_receipt, l1_hash, timeout, "L1", waiting=waiting)
    if receipt["status"] != 1:
        raise DepositError(f"the L1 transaction {l1_hash} reverted")
    requests = [
        decode_priority_request(
            {
                "data": log["data"].to_0x_hex(),
                "topics": [t.to_0x_hex() for t in log["topics"]],
                "blockNumber": hex(log["blockNumber"]),
                "logIndex": hex(log["logIndex"]),
            }
        )
        for log in receipt["logs"]
        if log["topics"] and bytes(log["topics"][0]) == NEW_PRIORITY_REQUEST_TOPIC
    ]
    if len(requests) != 1:
        raise DepositError(f"the L1 transaction emitted {len(requests)} NewPriorityRequest events")
    priority = requests[0]
    l2_hash = "0x" + priority.tx.hash.hex()
    print(f"L2 tx hash: {l2_hash}", file=out, flush=True)
    print(f"priority id: {priority.priority_id}", file=out, flush=True)
    summary = {
        "l1_hash": l1_hash,
        "l2_hash": l2_hash,
        "priority_id": priority.priority_id,
        "amount": amount,
        "base_cost": base_cost,
        "l2_gas_limit": l2_gas_limit,
    }
    if options["no-wait"]:
        return summary

    import requests

    l2 = Web3(Web3.HTTPProvider(options["l2-rpc-url"], request_kwargs={"timeout": 15}))
    unreachable = []

    def l2_receipt(h):
        # The node may still be starting: an unreachable L2 counts as "not yet" until the
        # timeout, and the message says so.
        try:
            receipt = l2.eth.get_transaction_receipt(h)
        except TransactionNotFound:
            return None
        except requests.exceptions.ConnectionError:
            unreachable.append(True)
            return None
        unreachable.clear()
        return receipt

    started = time.monotonic()
    try:
        receipt = _wait_receipt(l2_receipt, l2_hash, timeout, "L2", waiting=waiting)
    except DepositError as e:
        if unreachable:
            raise DepositError(f"{e}: cannot reach the node at {options['l2-rpc-url']}") from None
        raise DepositError(f"{e}: is the node at {options['l2-rpc-url']} watching L1?") from None
    summary["l2_wait_seconds"] = round(time.monotonic() - started, 3)
    summary["l2_block"] = receipt["blockNumber"]
    summary["l2_status"] = receipt["status"]
    print(
        f"L2 receipt: block {receipt['blockNumber']}, status {receipt['status']}, "
        f"after {summary['l2_wait_seconds']} s",
        file=out,
        flush=True,
    )
    if receipt["status"] != 1:
        raise DepositError(f"the L2 transaction {l2_hash} failed (status 0)")
    return summary


def run(options) -> int:
    import requests
    from web3.exceptions import Web3Exception

    from zkos_tw.cli.progress import Waiting

    waiting = Waiting.for_stream(sys.stderr, quiet=options["json"])
    try:
        summary = make_deposit(options, waiting=waiting)
    except DepositError as e:
        print(f"zkosctl deposit: {e}", file=sys.stderr)
        return 1
    except requests.exceptions.RequestException as e:
        url = getattr(e.request, "url", None) or "the RPC endpoint"
        print(f"zkosctl deposit: cannot reach {url}: {type(e).__name__}", file=sys.stderr)
        return 1
    except (Web3Exception, ValueError) as e:
        print(f"zkosctl deposit: {e}", file=sys.stderr)
        return 1
    if options["json"]:
        print(json.dumps(summary, sort_keys=True))
    return 0
