"""One way to run the solc from npm (``solcjs --standard-json``) for every Solidity build: the L1
contracts, the genesis contracts, the EVM benchmark contracts and the integration tests."""

from __future__ import annotations

import json
import subprocess
import tempfile


class SolcError(Exception):
    """solc reported errors; the text holds their formatted messages, one per line."""


def standard_json(solcjs: str, request: dict, timeout: float = 600) -> dict:
    """Compile ``request`` (solc's standard JSON input); return the standard JSON output.

    The output goes through a file: solcjs (node) exits before flushing more than 64 KiB into a
    pipe. A notice line solcjs may print first (">>> Cannot retry compilation with SMT ...") is
    skipped. Raises ``SolcError`` when solc reports an error (warnings are not errors).
    """
    with tempfile.TemporaryFile("w+") as out:
        subprocess.run(
            [solcjs, "--standard-json"],
            input=json.dumps(request).encode(),
            stdout=out,
            stderr=subprocess.DEVNULL,
            check=True,
            timeout=timeout,
        )
        out.seek(0)
        text = out.read()
    output = json.loads(text[text.index("{") :])
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise SolcError("\n".join(e["formattedMessage"] for e in errors))
    return output
