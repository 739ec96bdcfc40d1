#!/usr/bin/env bash
# pmpd against llama.cpp on this machine, at the same bits: a benchmark, not
# a test. Builds llama.cpp from the tree vendored in PyPI's llama-cpp-python
# 0.3.36 sdist (CPU, Release, GGML_NATIVE), converts the bundled fixture and a
# larger pmpd-synth model to GGUF (F16, then llama-quantize to Q4_0, Q3_K_M,
# Q2_K), compiles the same
# models with pmpd (fp16; 4-, 3- and 2-bit decode, 4-bit prefill), then runs
# llama-bench and pmpd-bench alternately: prefill of 512 tokens (pp512) and
# 128 decode steps after a 512-token prompt (tg128 @ d512), at 1 and 2
# threads, ROUNDS rounds, and prints the medians and pmpd/llama.cpp ratios.
#
#   scripts/bench-llamacpp.sh [--rounds N] [--threads "1 2"] [--models "tiny synth"]
#                             [--synth-layers N]
#
# Environment: PMPD_BUILD (default build/), WORK (default build-llamacpp/,
# everything downloaded, built and converted goes there; reruns reuse it),
# LLAMA_BENCH_ARGS (more llama-bench options, e.g. "--repack 0": on the
# 2-vCPU Intel Xeon VM of 2026-12-02 evening, llama-bench of the quantized
# models crashed in its repacking (AMX) buffers).
# Needs network access to PyPI (the sdist) and Python's numpy and safetensors.
# The GGUF conversion is scripts/bench-llamacpp-gguf.py with the sdist's gguf
# package: the sdist's convert_hf_to_gguf.py imports torch, which cannot be
# installed here.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pmpd=${PMPD_BUILD:-$root/build}/bin
work=${WORK:-$root/build-llamacpp}
rounds=3
threads="1 2"
models="tiny synth"
synthLayers=4
while [ $# -gt 0 ]; do
  case $1 in
  --rounds) rounds=$2; shift 2 ;;
  --threads) threads=$2; shift 2 ;;
  --models) models=$2; shift 2 ;;
  --synth-layers) synthLayers=$2; shift 2 ;;
  *) echo "bench-llamacpp.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for n in "$rounds" "$synthLayers"; do
  case $n in '' | *[!0-9]* | 0) echo "bench-llamacpp.sh: --rounds and --synth-layers take a positive integer" >&2; exit 2 ;; esac
done
for m in $models; do
  case $m in tiny | synth) ;; *) echo "bench-llamacpp.sh: unknown model '$m' (tiny, synth)" >&2; exit 2 ;; esac
done
for tool in pmpd-quantize pmpd-compile pmpd-bench pmpd-synth; do
  [ -x "$pmpd/$tool" ] || { echo "bench-llamacpp.sh: $pmpd/$tool missing: build pmpd first" >&2; exit 1; }
done
mkdir -p "$work"
log() { echo "== $*" >&2; }

# --- llama.cpp from the sdist -------------------------------------------------
version=0.3.36
src=$work/llama_cpp_python-$version/vendor/llama.cpp
if [ ! -d "$src" ]; then
  log "downloading llama-cpp-python $version (sdist)"
  python3 -m pip download --no-binary :all: --no-deps "llama-cpp-python==$version" -d "$work/sdist"
  tar -xzf "$work/sdist/llama_cpp_python-$version.tar.gz" -C "$work"
fi
lbuild=$work/llama.cpp-build
if [ ! -x "$lbuild/bin/llama-bench" ] || [ ! -x "$lbuild/bin/llama-quantize" ]; then
  log "building llama.cpp (CPU, Release, GGML_NATIVE)"
  cmake -S "$src" -B "$lbuild" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
  ninja -C "$lbuild" -j"$(nproc)" llama-bench llama-quantize >/dev/null
fi

# --- models -------------------------------------------------------------------
# tiny: the bundled fixture (any-precision quantization with calibration).
# synth: random weights in a shape that does not fit in cache (hidden 4096,
# by default 4 layers of Llama-2-7B, the fixture's vocabulary): 0.8 G
# parameters, 0.4 GB at 4 bits, so memory bandwidth decides.
modeldir() { if [ "$1" = synth ]; then echo "$work/synth-$synthLayers"; else echo "$work/$1"; fi; }
prepare() {
  local name=$1 dir
  dir=$(modeldir "$1")
  mkdir -p "$dir"
  local hf packed
  case $name in
  tiny)
    hf=$root/fixtures/pmpd-tiny-llama
    packed=$dir/pmpd-q
    [ -f "$packed/config.json" ] ||
      "$pmpd/pmpd-quantize" "$hf" -o "$packed" --calib-docs 8 --calib-length 128 >/dev/null
    ;;
  synth)
    local synth=(--shape llama2-7b --layers "$synthLayers" --vocab 8192 --tokenizer "$root/fixtures/pmpd-tiny-llama/tokenizer.json")
    hf=$dir/hf
    packed=$dir/pmpd-q
    [ -f "$hf/config.json" ] || "$pmpd/pmpd-synth" "${synth[@]}" -o "$hf" >/dev/null
    [ -f "$packed/config.json" ] || "$pmpd/pmpd-synth" "${synth[@]}" --quantized -o "$packed" >/dev/null
    ;;
  esac
  if [ ! -f "$dir/F16.gguf" ]; then
    log "$name: converting to GGUF"
    PYTHONPATH=$src/gguf-py python3 "$root/scripts/bench-llamacpp-gguf.py" "$hf" "$dir/F16.gguf"
  fi
  for q in Q4_0 Q3_K_M Q2_K; do
    [ -f "$dir/$q.gguf" ] || "$lbuild/bin/llama-quantize" "$dir/F16.gguf" "$dir/$q.gguf" "$q" >/dev/null 2>&1
  done
  [ -f "$dir/pmpd-f16/manifest.json" ] ||
    "$pmpd/pmpd-compile" "$hf" -o "$dir/pmpd-f16" >/dev/null
  for b in 4 3 2; do
    [ -f "$dir/pmpd-$b/manifest.json" ] ||
      "$pmpd/pmpd-compile" "$packed" -o "$dir/pmpd-$b" --schedule "prefill=4;decode=$b@0" >/dev/null
  done
}

# --- runs ---------------------------------------------------------------------
# One line per measurement: model engine config threads test tok/s.
results=$work/results.txt
: >"$results"
llama() { # model config threads
  local out
  out=$("$lbuild/bin/llama-bench" -m "$(modeldir "$1")/$2.gguf" -t "$3" -r 1 -p 512 -n 0 -o csv ${LLAMA_BENCH_ARGS:-} &&
    "$lbuild/bin/llama-bench" -m "$(modeldir "$1")/$2.gguf" -t "$3" -r 1 -p 0 -n 128 -d 512 -o csv ${LLAMA_BENCH_ARGS:-})
  # CSV columns by name: n_prompt, n_gen, avg_ts.
  echo "$out" | python3 -c '
import csv, sys
model, config, threads = sys.argv[1:]
rows = [r for r in csv.reader(sys.stdin)]
head = rows[0]
for r in rows[1:]:
    if r == head:
        continue
    d = dict(zip(head, r))
    test = "pp512" if int(d["n_gen"]) == 0 else "tg128"
    print(model, "llama.cpp", config, threads, test, d["avg_ts"])
' "$1" "$2" "$3" >>"$results"
}
pmpdrun() { # model config threads
  "$pmpd/pmpd-bench" "$(modeldir "$1")/pmpd-$2" -p 512 -n 128 -r 1 --num-threads "$3" --json |
    python3 -c '
import json, sys
model, config, threads = sys.argv[1:]
for r in json.load(sys.stdin)["rows"]:
    # The count in effect, as the kernels of the artifact report it.
    if not r["device"].endswith(f", {threads} threads"):
        sys.exit("pmpd-bench ran %s, not %s threads" % (r["device"], threads))
    print(model, "pmpd", config, threads, r["test"], r["tokens_per_second"])
' "$1" "$2" "$3" >>"$results"
}

for m in $models; do prepare "$m"; done
log "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  for m in $models; do
    for t in $threads; do
      log "round $round/$rounds: $m, $t thread(s)"
      # Alternate the engines, each at every precision.
      for pair in "F16 f16" "Q4_0 4" "Q3_K_M 3" "Q2_K 2"; do
        set -- $pair
        llama "$m" "$1" "$t"
        pmpdrun "$m" "$2" "$t"
      done
    done
  done
done
log "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- medians and ratios -------------------------------------------------------
python3 - "$results" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    model, engine, config, threads, test, rate = line.split()
    runs[(model, engine, config, int(threads), test)].append(float(rate))
med = {k: statistics.median(v) for k, v in runs.items()}
pairs = [("fp16", "F16", "f16"), ("4-bit vs Q4_0", "Q4_0", "4"),
         ("3-bit vs Q3_K_M", "Q3_K_M", "3"), ("2-bit vs Q2_K", "Q2_K", "2")]
print("| model | threads | test | bits | llama.cpp tok/s | pmpd tok/s | pmpd / llama.cpp |")
print("|---|---|---|---|---|---|---|")
for model in dict.fromkeys(k[0] for k in med):
    for threads in sorted({k[3] for k in med if k[0] == model}):
        for test in ("pp512", "tg128"):
            for name, gguf, art in pairs:
                a = med.get((model, "llama.cpp", gguf, threads, test))
                b = med.get((model, "pmpd", art, threads, test))
                if a is None or b is None:
                    continue
                print(f"| {model} | {threads} | {test} | {name} | {a:.1f} | {b:.1f} | {b / a:.2f} |")
print(f"\n(medians of {max(len(v) for v in runs.values())} alternated rounds; pmpd's pp512 runs at its 4-bit prefill"
      " precision for every decode width; tg128 is decode after a 512-token prompt)")
EOF
