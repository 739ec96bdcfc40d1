#!/usr/bin/env bash
# Compiles the artifacts scripts/gpu-bench.sh runs on a GPU machine: gpu
# artifacts of a pmpd-synth model shape (default llama2-7b, packed 4-bit
# parent) for uniform 4, 3 and 2 bits and a PMPD schedule, without their
# weights and tokenizer (gpu-bench.sh writes the same model there with
# pmpd-synth, seed 0, and the manifests' hashes check it), so that the
# directory is small enough to ship (about 3 MB compressed).
#   scripts/gpu-bench-artifacts.sh OUT_DIR [SHAPE]
# Needs about 2 x 4 GB of disk for a 7B shape and a few minutes per artifact.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1 shape=${2:-llama2-7b}
bin=$root/build/bin
model=$(mktemp -d)
trap 'rm -rf "$model"' EXIT
mkdir -p "$out"
"$bin/pmpd-synth" --shape "$shape" --quantized -o "$model" \
  --tokenizer "$root/fixtures/pmpd-tiny-llama/tokenizer.json"
echo "$shape" > "$out/shape"
for config in "b4 prefill=4;decode=4@0" "b3 prefill=3;decode=3@0" \
              "b2 prefill=2;decode=2@0" "sched prefill=4;decode=4@0,3@32,2@64"; do
  read -r name schedule <<< "$config"
  rm -rf "$out/$name"
  "$bin/pmpd-compile" "$model" --target gpu --schedule "$schedule" -o "$out/$name"
  rm "$out/$name/weights.safetensors" "$out/$name/tokenizer.json"
done
du -sh "$out"
