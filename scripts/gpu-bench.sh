#!/usr/bin/env bash
# GPU speed, on a machine with an NVIDIA GPU and no LLVM (the benchmark of
# docs/results.md). Stages (PMPD_STAGES, default all three):
#   gemv  pmpd-gemv-bench: the decode GEMV kernels beside cuBLAS fp16, in one
#         process, at the Llama-2-7B projection shapes
#   e2e   pmpd-bench -p 512 -n 128 on Llama-2-7B-shaped artifacts made by
#         scripts/gpu-bench-artifacts.sh (compiled elsewhere without their
#         weights: pmpd-synth writes the same bytes here, the manifests' hashes
#         check them)
#   hf    scripts/hf-baseline.py: Hugging Face transformers fp16 on the same
#         shape, static cache + torch.compile, in the same run
#
#   scripts/gpu-bench.sh BIN_DIR ARTIFACTS_DIR OUT_DIR
#
# BIN_DIR holds pmpd-synth, pmpd-bench, pmpd-gemv-bench and
# pmpd-gpu-kernels.fatbin. Writes OUT_DIR/gemv.jsonl, bench.json, hf.json.
set -uo pipefail
bin=$1 arts=$2 out=$3
stages=${PMPD_STAGES:-gemv e2e hf}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader

for stage in $stages; do
  case $stage in
  gemv)
    echo "== GEMV kernels beside cuBLAS fp16"
    "$bin/pmpd-gemv-bench" --kernels "$bin/pmpd-gpu-kernels.fatbin"
    "$bin/pmpd-gemv-bench" --kernels "$bin/pmpd-gpu-kernels.fatbin" --json \
      > "$out/gemv.jsonl"
    ;;
  e2e)
    echo "== Llama-2-7B shape: pmpd-bench -p 512 -n 128"
    model=/tmp/pmpd-bench-model
    shape=$(cat "$arts/shape")
    if [ ! -f "$model/model.safetensors" ]; then
      time "$bin/pmpd-synth" --shape "$shape" --quantized -o "$model" \
        --tokenizer "$root/fixtures/pmpd-tiny-llama/tokenizer.json"
    fi
    list=()
    for a in "$arts"/*/; do
      a=${a%/}
      ln -f "$model/model.safetensors" "$a/weights.safetensors"
      cp "$model/tokenizer.json" "$a/tokenizer.json"
      list+=("$a")
    done
    "$bin/pmpd-bench" "${list[@]}" -p 512 -n 128 -r 2 --json > "$out/bench.json"
    cat "$out/bench.json"
    ;;
  hf)
    echo "== Hugging Face transformers on the same shape"
    # The model's config, as every artifact's manifest holds it.
    first=$(ls -d "$arts"/*/ | head -1)
    python3 -c 'import json, sys
json.dump(json.load(open(sys.argv[1]))["model"], open(sys.argv[2], "w"))' \
      "$first/manifest.json" /tmp/pmpd-hf-config.json
    python3 "$root/scripts/hf-baseline.py" /tmp/pmpd-hf-config.json \
      -p 512 -n 128 -r 2 > "$out/hf.json"
    cat "$out/hf.json"
    ;;
  *)
    echo "gpu-bench: unknown stage '$stage'" >&2
    exit 2
    ;;
  esac
done
