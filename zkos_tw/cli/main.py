"""The ``zkosctl`` entry point: dispatches to the subcommand modules listed in ``COMMANDS``."""

from __future__ import annotations

import importlib
import sys

from twisted.python import usage

from zkos_tw.cli import COMMANDS


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["Usage: zkosctl COMMAND [options]", "", "Commands:"]
    for name, (_, help_text) in sorted(COMMANDS.items()):
        lines.append(f"  {name.ljust(width)}  {help_text}")
    lines.append("")
    lines.append("Run `zkosctl COMMAND --help` for the options of one command.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; return its exit code (2 for usage errors)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"zkosctl: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    options = module.Options()
    try:
        options.parseOptions(rest)
    except usage.UsageError as e:
        print(f"zkosctl {name}: {e}", file=sys.stderr)
        return 2
    return int(module.run(options) or 0)


if __name__ == "__main__":
    sys.exit(main())
