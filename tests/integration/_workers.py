"""JSON-RPC calls against a node whose RPC runs in worker processes (``--rpc-workers``).

Each answer names its worker in the ``x-zkos-rpc-worker`` header; a call on a fresh TCP
connection lets the kernel pick the worker, so repeated calls reach every one of them.
"""

from __future__ import annotations

import http.client
import json
import time

WORKERS = 2


def rpc(port: int, method: str, params=()) -> tuple[object, str]:
    """(result, worker index) of one call on a fresh connection; raises on a JSON-RPC error."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        connection.request("POST", "/", body, {"content-type": "application/json"})
        response = connection.getresponse()
        answer = json.loads(response.read())
        worker = response.getheader("x-zkos-rpc-worker")
    finally:
        connection.close()
    if "error" in answer:
        raise AssertionError(f"{method}: {answer['error']}")
    return answer["result"], worker


def from_every_worker(port: int, method: str, params=(), timeout: float = 30.0) -> dict:
    """worker index -> its answer, calling until each of the ``WORKERS`` workers answered (a
    worker that is still starting, or busy, is waited for up to ``timeout`` seconds)."""
    answers: dict[str, object] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result, worker = rpc(port, method, params)
        answers.setdefault(worker, result)
        if len(answers) == WORKERS:
            return answers
    raise AssertionError(f"only workers {sorted(answers)} answered {method} in {timeout} s")
