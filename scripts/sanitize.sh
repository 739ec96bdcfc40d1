#!/usr/bin/env bash
# The sanitized test suite: builds pmpd with clang-22, AddressSanitizer and
# UndefinedBehaviorSanitizer (LLVM_USE_SANITIZER, -fno-sanitize-recover) into
# a build directory of its own and runs the whole suite (test/ and
# unittests/) in it; test/sanitizers.py sets the sanitizers' options. The
# suite then includes test/Tools/compiler-independent-ir.test: this clang
# build's compiler output must be byte-identical to the gcc build's.
# Ends with its totals line; lit's JSON results are in the build directory.
#   scripts/sanitize.sh [lit options...]
# PMPD_BUILD_DIR: the gcc build to compare with (default build/, built by
# scripts/setup.sh); PMPD_SANITIZE_DIR: the sanitized build (default
# build-sanitize/). scripts/test.sh runs this after the main suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
reference=${PMPD_BUILD_DIR:-$root/build}
build=${PMPD_SANITIZE_DIR:-$root/build-sanitize}

if ! command -v clang++-22 > /dev/null; then
  echo "sanitize: clang++-22 not found (scripts/setup.sh installs it)" >&2
  exit 1
fi
if [ ! -x "$reference/bin/pmpd-compile" ]; then
  echo "sanitize: no gcc build to compare with in $reference (scripts/setup.sh)" >&2
  exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_SANITIZER="Address;Undefined" \
    -DLLVM_UBSAN_FLAGS="-fsanitize=undefined -fno-sanitize-recover=undefined" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DPython3_EXECUTABLE="$(command -v python3)" > /dev/null
fi
ninja -C "$build" all

results=$build/lit-results.json
rm -f "$results"
set +e
/usr/lib/llvm-22/bin/lit -sv --time-tests -o "$results" \
  --param reference_build="$reference" "$@" "$build/test" "$build/unittests"
status=$?
set -e
python3 "$root/scripts/lit-totals.py" "$results" || status=1
exit $status
