#!/usr/bin/env python3
"""Summarizes scripts/gpu-check.sh: GPU against CPU per precision config.

  gpu-check-summary.py OUT_DIR     prints a table, writes OUT_DIR/summary.json

Per config: perplexity of both on the same documents and their relative
difference; KL(cpu || gpu), top-1 agreement and the largest relative logit
difference over every scored position; greedy generation from three prompts:
identical tokens, or the first divergence and the CPU's top-2 logit gap
there (a near-tie when it is below 0.1).
"""
import json
import os
import sys

import numpy as np

CONFIGS = ["f16", "b4", "b3", "b2", "sched"]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def generation(out, config, prompt):
    cpu = load(f"{out}/gen-{config}-cpu-{prompt}.json")
    gpu = load(f"{out}/gen-{config}-gpu-{prompt}.json")
    if not cpu or not gpu:
        return {"error": "missing run"}
    a, b = cpu["generated_ids"], gpu["generated_ids"]
    result = {"tokens": len(a), "identical": a == b}
    la = np.load(f"{out}/gen-{config}-cpu-{prompt}.npy")
    lb = np.load(f"{out}/gen-{config}-gpu-{prompt}.npy")
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
    # Rows: prompt positions, then one per decode step; generated token i
    # comes from row len(prompt) - 1 + i.
    base = len(cpu["prompt_ids"]) - 1
    rows = base + (first if first is not None else len(a))
    scale = np.maximum(np.abs(la[:rows]).max(axis=1), 1e-30)
    result["max_relative_logit_error"] = float(
        (np.abs(la[:rows] - lb[:rows]).max(axis=1) / scale).max())
    if first is not None:
        top = np.sort(la[base + first])[-2:]
        result["first_divergence"] = first
        result["cpu_top2_gap"] = float(top[1] - top[0])
        result["near_tie"] = bool(top[1] - top[0] < 0.1)
    return result


def main():
    out = sys.argv[1]
    summary = {}
    print(f"{'config':6} {'ppl cpu':>9} {'ppl gpu':>9} {'Δppl':>8} {'KL':>9} "
          f"{'top-1':>7} {'max rel logit':>13}  greedy")
    for config in CONFIGS:
        cpu = load(f"{out}/ppl-{config}-cpu.json") or {}
        gpu = load(f"{out}/ppl-{config}-gpu.json") or {}
        gens = [generation(out, config, p) for p in range(3)]
        entry = {"cpu": cpu, "gpu": gpu, "generation": gens}
        if cpu.get("ppl") and gpu.get("ppl"):
            entry["ppl_relative_difference"] = gpu["ppl"] / cpu["ppl"] - 1
        summary[config] = entry
        greedy = ", ".join(
            "same" if g.get("identical") else
            (f"differs at {g['first_divergence']} (gap {g['cpu_top2_gap']:.3f})"
             if "first_divergence" in g else g.get("error", "?"))
            for g in gens)
        print(f"{config:6} {cpu.get('ppl', 0):9.4f} {gpu.get('ppl', 0):9.4f} "
              f"{100 * entry.get('ppl_relative_difference', float('nan')):7.3f}% "
              f"{gpu.get('kl', float('nan')):9.2e} "
              f"{100 * gpu.get('top1_agreement', float('nan')):6.2f}% "
              f"{gpu.get('max_relative_logit_error', float('nan')):13.2e}  {greedy}")
    bench = load(f"{out}/bench.json")
    if bench:
        summary["bench"] = bench
        for row in bench["rows"]:
            print(f"{os.path.basename(row['artifact'].rstrip('/')):10} {row['test']:6} "
                  f"{row['bits']:3}-bit {row['tokens_per_second']:10.1f} tok/s  "
                  f"{row['device']}")
    with open(f"{out}/summary.json", "w") as f:
        json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
