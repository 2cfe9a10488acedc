"""``zkosctl load``: put a JSON-RPC node under transaction load and report what it sustained.

Funds ``--senders`` accounts from ``--private-key``, pre-signs ``--txs`` transfers (or ERC-20
``transfer`` calls), submits them in ``eth_sendRawTransaction`` batches of ``--batch-size`` over
``--connections`` keep-alive HTTP connections, watches the blocks for them and prints the
result: submitted and included TPS, inclusion latency p50/p99, ``eth_blockNumber`` latency
under load, errors by message, blocks (see docs/load.md).
"""

from __future__ import annotations

import json
import sys
import traceback

from twisted.internet.defer import ensureDeferred
from twisted.python import usage

from zkos_tw.cli.progress import Progress
from zkos_tw.load.plan import KINDS
from zkos_tw.load.runner import RICH_KEY, LoadConfig, LoadError, LoadRun

#: the submission budget per second of ``--duration`` when neither --txs nor --rate is given
DURATION_BUDGET_TPS = 5000


def _number(options, name: str, kind, minimum) -> None:
    """Convert option ``name`` in place; a UsageError naming it when it is not a number of
    ``kind`` at least ``minimum`` (``None`` stays ``None``)."""
    text = options[name]
    if text is None:
        return
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise usage.UsageError(f"--{name} must be a number, got {text!r}") from None
    if value < minimum:
        raise usage.UsageError(f"--{name} must be at least {minimum}, got {text!r}")
    options[name] = value


class Options(usage.Options):
    synopsis = "[--rpc-url URL] [--senders N] [--txs N | --duration S] [options]"
    longdesc = (
        "Funds --senders accounts from --private-key, pre-signs --txs transfers (or ERC-20 "
        "transfer calls with --kind erc20), submits them in eth_sendRawTransaction batches and "
        "prints JSON: submitted and included TPS, inclusion latency p50/p99, eth_blockNumber "
        "latency under load, errors by message, blocks. With --duration and no --txs, "
        f"--rate x duration transactions are signed ({DURATION_BUDGET_TPS} per second without "
        "--rate). Exit status 0: all included; 3: some not included; 1: the run could not go "
        "on; 2: bad options. See docs/load.md."
    )
    optFlags = [["json", None, "Print only the result JSON (default: JSON plus a summary line)"]]
    optParameters = [
        ["rpc-url", None, "http://127.0.0.1:3050", "JSON-RPC endpoint (http://)"],
        ["private-key", None, RICH_KEY, "Key of the funded account that pays for the run"],
        ["senders", None, "100", "Accounts that send the load"],
        ["txs", None, None, "Transactions to send (default 10000)"],
        ["duration", None, None, "Stop submitting after this many seconds"],
        ["rate", None, None, "Pace submission to this many tx/s (default: as fast as it goes)"],
        ["batch-size", None, "100", "eth_sendRawTransaction requests per JSON-RPC batch"],
        ["connections", None, "4", "HTTP connections (and batches in flight) for submission"],
        ["max-pending", None, None, "Hold back while this many of ours wait for a block"],
        [
            "kind",
            None,
            "transfer",
            "transfer (ETH), erc20 (deploys TestToken) or mixed (ETH and token transfers, "
            "alternating)",
        ],
        ["read-rate", None, None, "State reads per second meanwhile (eth_getBalance, eth_call)"],
        ["client", None, "raw", "HTTP client: raw (ours, keep-alive) or treq (persistent pool)"],
        ["timeout", None, "60", "Seconds to wait for inclusion after the last submission"],
        ["priority-fee", None, "0", "maxPriorityFeePerGas in wei"],
        ["seed", None, None, "Hex seed for the sender keys (default: random, fresh accounts)"],
    ]

    def postOptions(self) -> None:
        if self["kind"] not in KINDS:
            raise usage.UsageError(f"--kind must be one of {', '.join(KINDS)}")
        if self["client"] not in ("raw", "treq"):
            raise usage.UsageError("--client must be raw or treq")
        for name in ("senders", "txs", "batch-size", "connections", "max-pending"):
            _number(self, name, int, 1)
        _number(self, "priority-fee", int, 0)
        for name in ("duration", "rate", "timeout", "read-rate"):
            _number(self, name, float, 0.001)
        if self["seed"] is not None:
            try:
                bytes.fromhex(self["seed"].removeprefix("0x"))
            except ValueError:
                raise usage.UsageError("--seed must be hex") from None
        if not self["rpc-url"].startswith("http://"):
            raise usage.UsageError("--rpc-url must be an http:// URL")

    def config(self) -> LoadConfig:
        txs = self["txs"]
        if txs is None:
            if self["duration"] is not None:
                txs = int(self["duration"] * (self["rate"] or DURATION_BUDGET_TPS))
            else:
                txs = 10_000
        return LoadConfig(
            rpc_url=self["rpc-url"],
            private_key=self["private-key"],
            senders=self["senders"],
            txs=txs,
            duration=self["duration"],
            rate=self["rate"],
            batch_size=self["batch-size"],
            kind=self["kind"],
            timeout=self["timeout"],
            connections=self["connections"],
            client=self["client"],
            max_pending=self["max-pending"],
            priority_fee=self["priority-fee"],
            read_rate=self["read-rate"],
            seed=None if self["seed"] is None else bytes.fromhex(self["seed"].removeprefix("0x")),
        )


def summary_line(result: dict) -> str:
    """One human line for the end of a run."""
    inclusion = result["inclusion_latency_ms"]
    block_number = result["block_number_latency_ms"]
    return (
        f"{result['included']}/{result['planned']} included: "
        f"{result['included_tps']} tx/s included, {result['submitted_tps']} tx/s submitted; "
        f"inclusion p50 {inclusion['p50']} ms p99 {inclusion['p99']} ms; "
        f"eth_blockNumber p99 {block_number['p99']} ms; "
        f"{result['blocks']['avg_txs_per_block']} txs/block; "
        f"{result['rejected']} rejected"
    )


async def run_load(reactor, config: LoadConfig, progress=None) -> dict:
    """One run; its result JSON object (``LoadError`` for a run that cannot go on)."""
    record = await LoadRun(config, reactor, progress=progress).run()
    return record.result()


def run(options: Options) -> int:
    from twisted.internet import reactor

    outcome = {}
    progress = Progress.for_stream(sys.stderr, quiet=options["json"], unit="txs")

    async def main():
        try:
            outcome["result"] = await run_load(reactor, options.config(), progress)
        except LoadError as e:
            outcome["error"] = str(e)
        except Exception:  # noqa: BLE001 - a bug: show it, exit non-zero
            progress.close()
            traceback.print_exc()
        finally:
            progress.close()
            reactor.stop()

    reactor.callWhenRunning(lambda: ensureDeferred(main()))
    reactor.run()
    if "error" in outcome:
        print(f"zkosctl load: {outcome['error']}", file=sys.stderr)
        return 1
    if "result" not in outcome:
        print("zkosctl load: the run ended without a result", file=sys.stderr)
        return 1
    print(json.dumps(outcome["result"], indent=None if options["json"] else 2))
    if not options["json"]:
        print(summary_line(outcome["result"]), file=sys.stderr)
    return 0 if outcome["result"]["not_included"] == 0 else 3
