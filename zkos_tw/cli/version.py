"""``zkosctl version``: the package version and which implementation each accelerated part uses."""

import json

from twisted.python import usage

from zkos_tw import __version__, extensions


class Options(usage.Options):
    optFlags = [["json", None, "Print one JSON object"]]


def run(options) -> int:
    from zkos_tw import hashing  # noqa: F401 - registers the hashing extension with the dispatcher

    info = {
        "version": __version__,
        "extensions": extensions.describe(),
        "extension_loaded": extensions.EXTENSION_LOADED,
    }
    if options["json"]:
        print(json.dumps(info, sort_keys=True))
    else:
        print(f"zkos-tw {info['version']}")
        for name, kind in info["extensions"].items():
            print(f"  {name}: {kind}")
    return 0
