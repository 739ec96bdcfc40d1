#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every suite
# (lit IR/tool tests and the GoogleTest unit tests, through one lit run; the
# Python package's pytest suite), then the lit suite again, built with
# clang-22, ASan and UBSan (scripts/sanitize.sh, into build-sanitize/;
# PMPD_SANITIZE=0 leaves it out), and ends with one line of totals over all:
# "N passed, N failed, N skipped".
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
# The pmpd package's tests (python/tests, pytest), on this build's libpmpd.so
# and tools; their results join lit's, so that the totals count them.
PMPD_BUILD_DIR=$build python3 -m pytest -q -p no:cacheprovider \
  "$root/python/tests" --lit-results "$results" || status=1
set -e

all_results=("$results")
if [ "${PMPD_SANITIZE:-1}" != 0 ]; then
  sanitized=$root/build-sanitize
  PMPD_BUILD_DIR=$build PMPD_SANITIZE_DIR=$sanitized \
    "$root/scripts/sanitize.sh" "$@" || status=1
  all_results+=("$sanitized/lit-results.json")
fi
python3 "$root/scripts/lit-totals.py" "${all_results[@]}" || status=1
exit $status
