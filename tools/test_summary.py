"""Sum up trial's closing lines in a test log: prints ``tests: N passed, M failed, K skipped``.

trial ends each run with ``PASSED (successes=N, skips=K)`` or ``FAILED (failures=F, errors=E,
successes=N)``; ``make test`` runs several tox environments, so this adds them up into the one
closing line CI reads. CI shows only the end of the log, so every failed or errored test is
repeated here too, with the last lines of its traceback, under the tox environment it ran in.
Exit status 1 when no trial run was found (nothing was tested).
"""

import re
import sys

CLOSING = re.compile(r"^(PASSED|FAILED) \((?P<counts>[^)]*)\)\s*$")
# tox prints "py311-cext: commands[0]> python -b -m twisted.trial ..." before each env's run.
ENV_START = re.compile(
    r"^(?P<env>[\w.-]+): (install_package|commands_pre\[\d+\]|commands\[\d+\])[ >]"
)
SEPARATOR = re.compile(r"^(={20,}|-{20,})$")
BAD_SECTIONS = ("[FAIL]", "[ERROR]")
TAIL_LINES = 25


def summarize(lines):
    passed = failed = skipped = runs = 0
    for line in lines:
        match = CLOSING.match(line.strip())
        if not match:
            continue
        runs += 1
        for item in match.group("counts").split(","):
            name, _, number = item.strip().partition("=")
            count = int(number or 0)
            if name == "successes":
                passed += count
            elif name in ("failures", "errors", "unexpectedSuccesses"):
                failed += count
            elif name in ("skips", "expectedFailures"):
                skipped += count
    return runs, passed, failed, skipped


def failures(lines):
    """(env, kind, lines) for each [FAIL] / [ERROR] section trial printed."""
    env = "?"
    found = []
    section = None
    previous = ""
    for raw in lines:
        line = raw.rstrip("\n")
        start = ENV_START.match(line)
        if start:
            env = start.group("env")
        if section is not None:
            if SEPARATOR.match(line.strip()):
                found.append(section)
                section = None
            else:
                section[2].append(line)
        if section is None and line.strip() in BAD_SECTIONS and SEPARATOR.match(previous.strip()):
            section = (env, line.strip(), [])
        previous = line
    if section is not None:
        found.append(section)
    return found


def main(path):
    with open(path, errors="replace") as f:
        lines = f.readlines()
    runs, passed, failed, skipped = summarize(lines)
    for env, kind, body in failures(lines):
        while body and not body[-1].strip():
            body.pop()
        print(f"--- {env} {kind} (last {TAIL_LINES} lines)")
        for line in body[-TAIL_LINES:]:
            print(f"  {line}")
    print(f"trial runs: {runs}")
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if runs else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
