#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang-22 with ASan + UBSan) and runs
# each for SECONDS over its seed corpus (fuzz/corpus/<harness>), keeping what
# it finds in build/fuzz/corpus/<harness>. A crash stops it with the input
# saved under build/fuzz/ and a non-zero exit. PMPD_BUILD_DIR names another
# main build than build/ (its generated headers; the harnesses build under it).
#   scripts/fuzz.sh [SECONDS] [HARNESS...]      default: 10 s each, all
# Long campaigns: scripts/fuzz.sh 3600 tokenizer   (or -jobs=N by hand).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
main_build=${PMPD_BUILD_DIR:-$root/build}
build=$main_build/fuzz
seconds=${1:-10}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(config safetensors tokenizer text manifest ir)

if ! command -v clang++-22 > /dev/null; then
  echo "fuzz: clang++-22 not found (apt-get install clang-22 libclang-rt-22-dev)" >&2
  exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-22 -DLLVM_DIR=/usr/lib/llvm-22/lib/cmake/llvm \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir -DPMPD_BUILD_DIR="$main_build" > /dev/null
fi
ninja -C "$build" > "$build/build.log" || { tail -20 "$build/build.log"; exit 1; }

for h in "${harnesses[@]}"; do
  mkdir -p "$build/corpus/$h"
  log=$build/$h.log
  if ! (cd "$build" && "./fuzz-$h" -max_total_time="$seconds" -timeout=10 \
          -rss_limit_mb=2048 -print_final_stats=1 \
          "corpus/$h" "$root/fuzz/corpus/$h" > "$log" 2>&1); then
    tail -40 "$log"
    echo "fuzz-$h: FAILED (log $log, reproducer under $build)"
    exit 1
  fi
  runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  echo "fuzz-$h: $runs runs in ${seconds} s, no crash"
done
