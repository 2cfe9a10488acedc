"""The health endpoint (port 3071): ``GET /status/health`` reports progress, not just liveness.

Answer: 200 and ``{"healthy": true, ...}`` while the node runs with no problem; 503 and
``"healthy": false`` while it starts, stops, or reports a problem. The body also gives the role,
the phase, the last block number with its timestamp and age in seconds, the problems, and the
sections the source adds (``l1_batches``, ``l1_senders`` on a main node).
"""

from __future__ import annotations

import json

from klein import Klein

from zkos_tw.interfaces import IHealthSource


class StatusServer:
    """The Klein app behind the health endpoint."""

    app = Klein()

    def __init__(self, source: IHealthSource, clock):
        self._source = IHealthSource(source)
        self._clock = clock

    def report(self) -> dict:
        """The health report as a dict (what the endpoint serialises)."""
        problems = list(self._source.problems())
        phase = getattr(self._source, "phase", "running")
        last = self._source.last_block()
        last_block = None
        if last is not None:
            number, timestamp = last
            age = max(0.0, self._clock.seconds() - timestamp)
            last_block = {"number": number, "timestamp": timestamp, "age_seconds": round(age, 3)}
        healthy = phase == "running" and not problems
        sections = getattr(self._source, "sections", dict)()
        return {
            "healthy": healthy,
            "status": "ok" if healthy else ("unhealthy" if phase == "running" else phase),
            "phase": phase,
            "role": self._source.role,
            "last_block": last_block,
            "problems": problems,
            **sections,
        }

    @app.route("/status/health", methods=["GET", "HEAD"])
    def health(self, request):
        report = self.report()
        request.setResponseCode(200 if report["healthy"] else 503)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(report).encode() + b"\n"

    @app.handle_errors
    def _error(self, request, failure):
        from werkzeug.exceptions import HTTPException

        code = failure.value.code if isinstance(failure.value, HTTPException) else 500
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        message = "not found" if code == 404 else "method not allowed" if code == 405 else "error"
        return json.dumps({"error": message}).encode() + b"\n"
