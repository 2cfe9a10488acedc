"""The ``zkosctl`` entry point: dispatches to the subcommand modules listed in ``COMMANDS``."""

from __future__ import annotations

import getopt
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


def _takes_value(options: usage.Options, opt: str) -> bool:
    if opt.startswith("--"):
        return opt[2:] + "=" in options.longOpt
    return opt[1:] + ":" in options.shortOpt


def reorder(options: usage.Options, args: list[str]) -> list[str]:
    """Return ``args`` with the options of ``options`` moved before its positional arguments.

    ``usage.Options`` parses with ``getopt``, which stops at the first positional argument, so
    ``statetest PATH --json`` would read ``--json`` as a second path. A command with subcommands
    is only reordered after the subcommand name, with that subcommand's ``Options``; on the way
    ``options.subOptions`` is set, as ``parseOptions`` does, so a usage error names the right
    synopsis. Raises ``usage.UsageError`` for an unknown option or a missing value.
    """
    sub_commands = getattr(options, "subCommands", None)
    try:
        if sub_commands:
            opts, positionals = getopt.getopt(args, options.shortOpt, options.longOpt)
        else:
            opts, positionals = getopt.gnu_getopt(args, options.shortOpt, options.longOpt)
    except getopt.GetoptError as e:
        raise usage.UsageError(str(e)) from None
    head: list[str] = []
    for opt, value in opts:
        head += [opt, value] if _takes_value(options, opt) else [opt]
    if not sub_commands:
        return head + ["--", *positionals] if positionals else head
    if not positionals:
        return head
    name, rest = positionals[0], positionals[1:]
    for cmd, short, parser, _ in sub_commands:
        if name in (cmd, short):
            sub = parser()
            sub.parent = options
            options.subCommand, options.subOptions = cmd, sub
            return [*head, name, *reorder(sub, rest)]
    raise usage.UsageError(f"unknown subcommand {name!r}")


def _command(name: str, options: usage.Options) -> str:
    """``zkosctl NAME [SUBCOMMAND...]`` as far as ``options`` was parsed."""
    words = ["zkosctl", name]
    while getattr(options, "subOptions", None) is not None:
        words.append(options.subCommand)
        options = options.subOptions
    return " ".join(words)


def usage_line(name: str, options: usage.Options) -> str:
    """``Usage: zkosctl NAME [SUBCOMMAND] SYNOPSIS`` for the innermost parsed ``Options``."""
    words = ["Usage:", _command(name, options)]
    while getattr(options, "subOptions", None) is not None:
        options = options.subOptions
    synopsis = getattr(options, "synopsis", None)
    if synopsis is None:
        synopsis = "[options]" if options.longOpt else ""
    words.append(synopsis)
    return " ".join(word for word in words if word)


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
        options.parseOptions(reorder(options, rest))
    except usage.UsageError as e:
        print(f"{_command(name, options)}: {e}\n{usage_line(name, options)}", file=sys.stderr)
        return 2
    return int(module.run(options) or 0)


if __name__ == "__main__":
    sys.exit(main())
