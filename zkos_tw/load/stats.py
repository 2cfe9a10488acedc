"""Numbers of a load run: percentiles, error grouping, and the result JSON.

All times are seconds from one clock (the injected reactor's ``seconds()``); the result reports
latencies in milliseconds and rates in transactions per second, rounded for reading.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

#: version of the result JSON's layout (bump when a field changes meaning or goes away)
RESULT_VERSION = 1

_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_NUMBER = re.compile(r"\b\d+\b")


def percentile(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` quantile (0..1) with linear interpolation between closest ranks (numpy's
    default); ``None`` for no values."""
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def error_key(message: str) -> str:
    """An error message with hashes and numbers replaced, so that errors of one kind group:
    ``[0xab..]: nonce too low 5`` -> ``[<hash>]: nonce too low <n>``."""
    return _NUMBER.sub("<n>", _HASH.sub("<hash>", message))


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _rate(count: int, seconds: float | None) -> float | None:
    if not seconds or seconds <= 0:
        return None
    return round(count / seconds, 1)


@dataclass
class RunRecord:
    """What a run observed; ``result()`` turns it into the JSON object."""

    chain_id: int | None = None
    kind: str = "transfer"
    senders: int = 0
    planned: int = 0
    batch_size: int = 0
    connections: int = 0
    client: str = "raw"
    submit_started: float | None = None
    submit_finished: float | None = None
    accepted: int = 0
    last_included: float | None = None
    inclusion_latencies: list[float] = field(default_factory=list)
    block_number_latencies: list[float] = field(default_factory=list)
    block_number_errors: int = 0
    errors: Counter = field(default_factory=Counter)
    #: number -> count of this run's transactions in that block
    blocks: dict[int, int] = field(default_factory=dict)
    #: number -> all transactions in that block (ours and others)
    block_sizes: dict[int, int] = field(default_factory=dict)
    #: number -> when the watcher first saw the block (every block it fetched)
    block_seen: dict[int, float] = field(default_factory=dict)
    funding_blocks: int = 0
    setup_seconds: float = 0.0
    sign_seconds: float = 0.0
    client_cpu_seconds: float | None = None
    timed_out: bool = False
    #: method -> round trips of the state readers (``read_rate``); empty when none ran
    read_latencies: dict[str, list[float]] = field(default_factory=dict)
    read_errors: int = 0
    #: reads not started because ``max_in_flight`` were still unanswered
    read_skipped: int = 0
    read_rate: float | None = None

    def record_error(self, message: str, count: int = 1) -> None:
        self.errors[error_key(message)] += count

    def result(self) -> dict:
        """The result JSON object (see docs/load.md for each field)."""
        included = len(self.inclusion_latencies)
        submit_seconds = (
            None
            if self.submit_started is None or self.submit_finished is None
            else self.submit_finished - self.submit_started
        )
        include_seconds = (
            None
            if self.submit_started is None or self.last_included is None
            else self.last_included - self.submit_started
        )
        intervals = []
        if self.blocks:
            low, high = min(self.blocks), max(self.blocks)
            seen = [t for n, t in sorted(self.block_seen.items()) if low <= n <= high]
            intervals = [later - earlier for earlier, later in itertools.pairwise(seen)]
        block_count = len(self.blocks)
        first_block = min(self.blocks) if self.blocks else None
        last_block = max(self.blocks) if self.blocks else None
        span = (last_block - first_block + 1) if self.blocks else 0
        result = {
            "version": RESULT_VERSION,
            "chain_id": self.chain_id,
            "kind": self.kind,
            "client": self.client,
            "senders": self.senders,
            "batch_size": self.batch_size,
            "connections": self.connections,
            "planned": self.planned,
            "submitted": self.accepted,
            "included": included,
            "not_included": self.accepted - included,
            "rejected": sum(self.errors.values()),
            "timed_out": self.timed_out,
            "submit_seconds": None if submit_seconds is None else round(submit_seconds, 3),
            "include_seconds": None if include_seconds is None else round(include_seconds, 3),
            "submitted_tps": _rate(self.accepted, submit_seconds),
            "included_tps": _rate(included, include_seconds),
            "inclusion_latency_ms": {
                "p50": _ms(percentile(self.inclusion_latencies, 0.5)),
                "p99": _ms(percentile(self.inclusion_latencies, 0.99)),
                "max": _ms(max(self.inclusion_latencies, default=None)),
            },
            "block_number_latency_ms": {
                "samples": len(self.block_number_latencies),
                "errors": self.block_number_errors,
                "p50": _ms(percentile(self.block_number_latencies, 0.5)),
                "p99": _ms(percentile(self.block_number_latencies, 0.99)),
                "max": _ms(max(self.block_number_latencies, default=None)),
            },
            "errors": dict(self.errors.most_common()),
            "blocks": {
                "with_our_txs": block_count,
                "first": first_block,
                "last": last_block,
                "span": span,
                "avg_txs_per_block": round(included / block_count, 1) if block_count else None,
                "max_txs_per_block": max(self.block_sizes.values(), default=None),
                # time between consecutive blocks as the watcher saw them (20 ms polls)
                "interval_ms": {
                    "avg": _ms(sum(intervals) / len(intervals)) if intervals else None,
                    "p50": _ms(percentile(intervals, 0.5)),
                    "max": _ms(max(intervals, default=None)),
                },
            },
            "funding_blocks": self.funding_blocks,
            "setup_seconds": round(self.setup_seconds, 3),
            "sign_seconds": round(self.sign_seconds, 3),
            "client_cpu_seconds": None
            if self.client_cpu_seconds is None
            else round(self.client_cpu_seconds, 3),
        }
        if self.read_rate:
            result["reads"] = {
                "rate": self.read_rate,
                "errors": self.read_errors,
                "skipped": self.read_skipped,
                "latency_ms": {
                    method: {
                        "samples": len(values),
                        "p50": _ms(percentile(values, 0.5)),
                        "p99": _ms(percentile(values, 0.99)),
                        "max": _ms(max(values, default=None)),
                    }
                    for method, values in sorted(self.read_latencies.items())
                },
            }
        return result
