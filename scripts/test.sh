#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every suite
# (lit IR/tool tests and the GoogleTest unit tests, through one lit run) and
# ends with one line of totals: "N passed, N failed, N skipped".
#   scripts/test.sh [lit options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
"$root/scripts/setup.sh" "$build"

results=$build/lit-results.json
rm -f "$results"
set +e
/usr/lib/llvm-22/bin/lit -sv --time-tests -o "$results" "$@" \
  "$build/test" "$build/unittests"
status=$?
set -e
python3 "$root/scripts/lit-totals.py" "$results" || status=1
exit $status
