#!/usr/bin/env python3
"""Prints one line of totals, 'N passed, N failed, N skipped', from lit's JSON
results (lit -o FILE) of one or more suites (scripts/test.sh: the main one and
the sanitized one), so that any CI can read the count. A results file that is
missing (its suite did not get to run, its build failed) counts as a failure."""
import json
import sys

PASSED = {"PASS", "XFAIL", "FLAKYPASS"}
SKIPPED = {"UNSUPPORTED", "SKIPPED", "EXCLUDED"}


def main(paths):
    tests, missing = [], []
    for path in paths:
        try:
            with open(path) as f:
                tests += json.load(f)["tests"]
        except FileNotFoundError:
            missing.append(path)
    passed = sum(t["code"] in PASSED for t in tests)
    skipped = sum(t["code"] in SKIPPED for t in tests)
    failed = len(tests) - passed - skipped + len(missing)
    for path in missing:
        print(f"lit-totals: no results in {path}: that suite did not run")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
