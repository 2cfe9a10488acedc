"""``zkosctl keygen PATH``: write a new ``nacl:`` node key file (mode 0600), print its public key."""

from __future__ import annotations

import os
import sys

from twisted.python import usage

from zkos_tw.transports import keys


class Options(usage.Options):
    synopsis = "PATH"

    def parseArgs(self, path):
        folder = os.path.dirname(path) or "."
        if not os.path.isdir(folder):
            raise usage.UsageError(f"{path}: no directory {folder}")
        self["path"] = path


def run(options) -> int:
    try:
        key = keys.write_key_file(options["path"])
    except FileExistsError:
        print(f"zkosctl keygen: {options['path']} exists; not overwriting it", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"zkosctl keygen: {options['path']}: {e.strerror}", file=sys.stderr)
        return 1
    print(bytes(key.verify_key).hex())
    return 0
