#!/usr/bin/env bash
# The GPU target checked against the CPU path, on a machine with an NVIDIA GPU
# and no LLVM: what runs there is the LLVM-free runtime tools and artifacts
# compiled elsewhere with their weights left out (the weights of an fp16
# artifact are a copy of the model's own file, those of a packed one the file
# pmpd-quantize writes, which is the same bytes on every machine; the
# manifest's hashes check both).
#
#   scripts/gpu-check.sh BIN_DIR ARTIFACTS_DIR OUT_DIR [MAX_DOCS]   (default 4)
#
# BIN_DIR holds pmpd-run, pmpd-quantize, pmpd-bench, the kernels fatbin and
# the GPU unit tests (PMPDTargetGPUKernelsTests, PMPDRuntimeCUDATests), all
# without libLLVM.so.
#
# On an H200 the GPU artifacts decode the fixture at about 60 steps/s at
# contexts up to 512 (kernel by kernel, no CUDA graphs yet), so 4 documents
# (about 1200 decode steps) per config keep the whole check near 5 minutes;
# the GPU runs go one at a time (processes sharing a GPU time-slice it).
#
# ARTIFACTS_DIR holds <config>-cpu and <config>-gpu for each config (f16, b4,
# b3, b2, sched), made by scripts/gpu-artifacts.sh. Writes OUT_DIR/summary.json
# and prints every step. PMPD_STAGES picks stages (default all: unit ppl
# greedy sanitize bench); the weights are always put in place.
set -uo pipefail
bin=$1 arts=$2 out=$3 docs=${4:-4}
stages=" ${PMPD_STAGES:-unit ppl greedy sanitize bench} "
stage() { [[ $stages == *" $1 "* ]]; }
root=$(cd "$(dirname "$0")/.." && pwd)
fixture=$root/fixtures/pmpd-tiny-llama
val=$root/fixtures/docs-val.jsonl.xz
mkdir -p "$out"
export PATH=$PATH:/usr/local/cuda/bin
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
lscpu | grep -m1 'Model name'

if stage unit; then
echo "== unit tests: the CUDA kernels against references, the device layer"
PMPD_GPU_KERNELS_FATBIN="$bin/pmpd-gpu-kernels.fatbin" \
  "$bin/PMPDTargetGPUKernelsTests" 2>&1 | grep -E "FAIL|Failure|error|PASSED|OK \]" | tail -20
"$bin/PMPDRuntimeCUDATests" 2>&1 | tail -3
fi

echo "== weights"
time "$bin/pmpd-quantize" "$fixture" -o "$out/q" > "$out/quantize.log" 2>&1 || tail "$out/quantize.log"
for a in "$arts"/*-cpu "$arts"/*-gpu; do
  case $a in *f16-*) src=$fixture ;; *) src=$out/q ;; esac
  cp "$src/model.safetensors" "$a/weights.safetensors"
  cp "$src/tokenizer.json" "$a/tokenizer.json"
done

if stage ppl; then
echo "== errors"
PMPD_CUDA_DEVICE=7 "$bin/pmpd-run" "$arts/f16-gpu" --prompt-ids 1,2 -n 2; echo "exit $?"

echo "== perplexity, KL and logits against the CPU path ($docs documents)"
for c in f16 b4 b3 b2 sched; do
  "$bin/pmpd-run" "$arts/$c-cpu" --ppl "$val" --max-docs "$docs" --num-threads 1 \
    --json > "$out/ppl-$c-cpu.json" 2> "$out/ppl-$c-cpu.err" &
done
for c in f16 b4 b3 b2 sched; do
  time "$bin/pmpd-run" "$arts/$c-gpu" --ppl "$val" --max-docs "$docs" --num-threads 4 \
    --kl-ref "$arts/$c-cpu" --json > "$out/ppl-$c-gpu.json" 2> "$out/ppl-$c-gpu.err"
done
wait
for f in "$out"/ppl-*.err; do [ -s "$f" ] && { echo "$f:"; tail -3 "$f"; }; done
fi

if stage greedy; then
echo "== greedy generation, 128 tokens from three prompts"
prompts=("1,6027,5143,266,833,14,1024,880,266" "1,467,4610,495,73,447,289,299,270" "1,53,265,5055,270,495,274,322,272,2677")
for c in f16 b4 b3 b2 sched; do
  for t in cpu gpu; do
    for i in 0 1 2; do
      "$bin/pmpd-run" "$arts/$c-$t" --prompt-ids "${prompts[$i]}" -n 128 --ignore-eos \
        --json --dump-logits "$out/gen-$c-$t-$i.npy" > "$out/gen-$c-$t-$i.json" || echo "FAILED $c-$t-$i"
    done
  done
done

fi

if stage sanitize; then
echo "== compute-sanitizer"
for tool in memcheck racecheck; do
  timeout 240 compute-sanitizer --tool $tool --error-exitcode 9 \
    "$bin/pmpd-run" "$arts/sched-gpu" --prompt-ids 1,6027,5143 -n 4 2>&1 | tail -4
  echo "$tool exit ${PIPESTATUS[0]}"
done

fi

if stage bench; then
echo "== pmpd-bench"
"$bin/pmpd-bench" "$arts/f16-gpu" "$arts/sched-gpu" "$arts/f16-cpu" "$arts/sched-cpu" \
  -p 512 -n 128 -r 2 --json > "$out/bench.json" 2>&1 || cat "$out/bench.json"
fi

python3 "$root/scripts/gpu-check-summary.py" "$out"
