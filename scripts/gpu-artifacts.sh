#!/usr/bin/env bash
# Compiles the artifacts scripts/gpu-check.sh runs on a GPU machine: for each
# config (f16, b4, b3, b2, sched) a cpu and a gpu artifact, host code for a
# portable x86-64 (x86-64-v3), and without their weights and tokenizer
# (gpu-check.sh puts them back from the fixture and the quantized model; the
# manifests' hashes check them), so that the directory is small enough to
# ship.
#   scripts/gpu-artifacts.sh PACKED_MODEL_DIR OUT_DIR
# PMPD_TARGETS="gpu" makes only the gpu ones.
# PACKED_MODEL_DIR: `pmpd-quantize fixtures/pmpd-tiny-llama -o DIR`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
packed=$1 out=$2
compile=$root/build/bin/pmpd-compile
fixture=$root/fixtures/pmpd-tiny-llama
mkdir -p "$out"
configs=("f16 $fixture prefill=16;decode=16@0"
         "b4 $packed prefill=4;decode=4@0"
         "b3 $packed prefill=3;decode=3@0"
         "b2 $packed prefill=2;decode=2@0"
         "sched $packed prefill=4;decode=4@0,3@64,2@128")
targets=${PMPD_TARGETS:-cpu gpu}
for config in "${configs[@]}"; do
  read -r name model schedule <<< "$config"
  for target in $targets; do
    (rm -rf "$out/$name-$target"
     "$compile" "$model" --target $target --target-cpu x86-64-v3 \
       --schedule "$schedule" -o "$out/$name-$target" > /dev/null
     rm "$out/$name-$target/weights.safetensors" "$out/$name-$target/tokenizer.json") &
  done
  wait
done
du -sh "$out"
