#!/usr/bin/env bash
# The main job on the bundled model: quantize it to the any-precision format
# (2..4 bits), compile it for the CPU with the PMPD schedule
# prefill=4;decode=4@0,3@64,2@128, and generate text from a prompt, printing
# the statistics (prefill speed, decode speed per precision, average bits,
# switch steps). Installs and builds first, like scripts/test.sh.
#   scripts/demo.sh ["prompt"]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
"$root/scripts/setup.sh" "$build" > /dev/null
prompt=${1:-"The Linux kernel"}
work=$build/demo
rm -rf "$work" && mkdir -p "$work"
bin=$build/bin

echo "== pmpd-quantize: fixtures/pmpd-tiny-llama -> any-precision 2..4 bits"
"$bin/pmpd-quantize" "$root/fixtures/pmpd-tiny-llama" -o "$work/model-q" \
  > "$work/quantize-report.txt"
head -n 1 "$work/quantize-report.txt"
tail -n 1 "$work/quantize-report.txt"

echo "== pmpd-compile: schedule prefill=4;decode=4@0,3@64,2@128, target cpu"
"$bin/pmpd-compile" "$work/model-q" \
  --schedule 'prefill=4;decode=4@0,3@64,2@128' -o "$work/artifact"
ls "$work/artifact"

echo "== pmpd-run: $prompt"
"$bin/pmpd-run" "$work/artifact" --prompt "$prompt" -n 192 --ignore-eos
