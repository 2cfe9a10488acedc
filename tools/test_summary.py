"""Sum up trial's closing lines in a test log: prints ``tests: N passed, M failed, K skipped``.

trial ends each run with ``PASSED (successes=N, skips=K)`` or ``FAILED (failures=F, errors=E,
successes=N)``; ``make test`` runs several tox environments, so this adds them up into the one
closing line CI reads. Exit status 1 when no trial run was found (nothing was tested).
"""

import re
import sys

CLOSING = re.compile(r"^(PASSED|FAILED) \((?P<counts>[^)]*)\)\s*$")


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


def main(path):
    with open(path, errors="replace") as f:
        runs, passed, failed, skipped = summarize(f)
    print(f"trial runs: {runs}")
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if runs else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
