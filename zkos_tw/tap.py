"""``twistd zkos``: command-line options and ``makeService``.

Every configuration parameter is also an option (``--sequencer-block-time``); see
``zkos_tw.config`` for the layers (defaults, environment, ``--config`` file, options). A bad
value stops start-up with one line naming it and what was expected, and exit status 1.
"""

from __future__ import annotations

import os

from twisted.python import usage

from zkos_tw.config import PARAMETERS, ConfigError, load_config, validate


def _option_help(p) -> str:
    return f"{p.help} [{p.name}; default {p.default_text}]"


class Options(usage.Options):
    """Options of ``twistd zkos``."""

    synopsis = "[options]"
    longdesc = (
        "Run a zkos-tw node: JSON-RPC on 3050, block replay on 3053, prover API on 3124, "
        "metrics on 3312, health on 3071. Every option can also be set by the environment "
        "variable named in its help (either case), or in a TOML file given with --config."
    )
    optFlags = [
        ["dev", None, "Also run anvil as the L1 (from .tools/, loading zkos-l1-state.json)"],
    ]
    optParameters = [
        ["config", "c", None, "TOML config file (flat group_field keys or [group] tables)"],
        *[[p.option, None, None, _option_help(p)] for p in PARAMETERS.values()],
    ]

    def getUsage(self, width=None):
        # The option names are long; wrap help text at a width that leaves it readable.
        return super().getUsage(width or max(int(os.environ.get("COLUMNS", "0") or 0), 132))

    def __init__(self, environ=None):
        super().__init__()
        self._environ = environ

    def postOptions(self) -> None:
        given = {name: self[p.option] for name, p in PARAMETERS.items()}
        try:
            self["node_config"] = validate(
                load_config(
                    environ=os.environ if self._environ is None else self._environ,
                    config_file=self["config"],
                    options=given,
                    dev_mode=bool(self["dev"]),
                )
            )
        except ConfigError as e:
            # One line, not the whole usage text that twistd prints for a UsageError.
            raise SystemExit(f"twistd zkos: {e}") from None


def makeService(options):
    """Build the node's service tree (synchronously; async start-up is the launcher's)."""
    import signal

    from twisted.internet import reactor

    # A shell starts background jobs with SIGINT ignored, and Twisted then leaves SIGINT alone;
    # a node must still stop cleanly (and stop anvil) on SIGINT, e.g. `make run &` then kill -INT.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)

    from zkos_tw.launcher import StartupError
    from zkos_tw.node import create_node_from_config

    try:
        return create_node_from_config(options["node_config"], reactor)
    except StartupError as e:
        raise SystemExit(f"twistd zkos: {e}") from None
