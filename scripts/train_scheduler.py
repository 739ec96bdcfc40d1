#!/usr/bin/env python3
"""Trains a learned decode scheduler for pmpd (`decode=learned:FILE`).

For each transition of the stages (e.g. 4 -> 3 -> 2 bits) it fits a logistic
regression that predicts, from the previous decode step's confidence (largest
softmax probability), entropy and the step index, whether the next step at the
lower precision picks the same token as at the higher one. Its bias is then
set so that it fires on the --fire-rate fraction of training steps it rates
most likely to agree: the compiled decode entry evaluates it every step and
steps down the first time it fires once the stage's first step is reached, so
the rate sets how soon (about 1/rate steps) and the features decide when.

Training data is teacher-forced: every document is run through an artifact of
each stage's precision (uniform schedules compiled with pmpd-compile), and its
logits at every position are taken from pmpd-run --dump-logits. Positions
before --prefill are the prompt; position p = prefill + t is decode step t.

  scripts/train_scheduler.py PACKED_MODEL_DIR --stages 4@0,3@32,2@96 -o sched.json
      [--docs fixtures/docs-val.jsonl.xz] [--skip-docs 48] [--max-docs 47]
      [--prefill 128] [--fire-rate 0.05] [--bin build/bin] [--work DIR]

Documents: --skip-docs leaves out the first documents of the file (keep them
for evaluation: pmpd-run --ppl ... --max-docs N), --max-docs bounds the rest.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from eval_ppl import EvalError, read_texts

FEATURES = ("confidence", "entropy", "step")


class TrainError(Exception):
    pass


def parse_stages(text):
    stages = []
    for part in text.split(","):
        bits, _, step = part.partition("@")
        try:
            stages.append({"bits": int(bits), "from": int(step)})
        except ValueError:
            raise TrainError(f"--stages: '{part}' is not BITS@STEP")
    if len(stages) < 2:
        raise TrainError("--stages needs at least two stages")
    return stages


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise TrainError(f"{' '.join(cmd)} failed:\n{result.stderr.strip()}")
    return result.stdout


def tokenize(tool, model, text):
    result = subprocess.run([tool, model], input=text, capture_output=True,
                            text=True)
    if result.returncode:
        raise TrainError(f"pmpd-tokenize failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def softmax_features(logits):
    """Confidence and entropy (nats) of each row of logits [T, V]."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    s = p.sum(axis=1)
    confidence = 1.0 / s
    entropy = np.log(s) - (p * shifted).sum(axis=1) / s
    return confidence, entropy


def fit_logistic(x, y, l2=1e-3, iterations=50):
    """Logistic regression by Newton's method on standardized features;
    returns (bias, weights) for the raw features."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / std])
    w = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + l2 * np.r_[0.0, w[1:]]
        penalty = l2 * np.diag(np.r_[0.0, np.ones(len(w) - 1)])
        hessian = (z.T * (p * (1 - p))) @ z + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = w[1:] / std
    bias = w[0] - (w[1:] * mean / std).sum()
    return float(bias), weights


def auc(scores, labels):
    """Area under the ROC curve: how well `scores` rank agreeing steps above
    the others (0.5 = no better than chance)."""
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = labels == 1
    n1, n0 = positives.sum(), (~positives).sum()
    if n1 == 0 or n0 == 0:
        return None
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a packed model dir (pmpd-quantize)")
    parser.add_argument("--stages", required=True,
                        help="BITS@STEP,... e.g. 4@0,3@32,2@96")
    parser.add_argument("-o", "--output", required=True)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--docs", default=os.path.join(
        here, "..", "fixtures", "docs-val.jsonl.xz"))
    parser.add_argument("--skip-docs", type=int, default=48)
    parser.add_argument("--max-docs", type=int, default=0)
    parser.add_argument("--max-len", type=int, default=512)
    parser.add_argument("--prefill", type=int, default=128)
    parser.add_argument("--fire-rate", type=float, default=0.05,
                        help="fraction of steps on which each classifier "
                             "fires (steps down)")
    parser.add_argument("--bin",
                        default=os.path.join(here, "..", "build", "bin"))
    parser.add_argument("--work", help="keep the artifacts here")
    args = parser.parse_args(argv)

    try:
        stages = parse_stages(args.stages)
        if not 0 < args.fire_rate < 1:
            raise TrainError("--fire-rate must be in (0, 1)")
        tool = lambda name: os.path.join(args.bin, name)
        work = args.work or tempfile.mkdtemp(prefix="pmpd-train-")
        os.makedirs(work, exist_ok=True)

        texts = read_texts(args.docs)[args.skip_docs:]
        if args.max_docs:
            texts = texts[:args.max_docs]
        docs = []
        for text in texts:
            ids = tokenize(tool("pmpd-tokenize"), args.model, text)
            ids = ids[:args.max_len]
            if len(ids) > args.prefill + 2:
                docs.append(ids)
        if not docs:
            raise TrainError("no document is longer than --prefill + 2 ids")

        # Teacher-forced logits of every document at every stage's precision.
        logits = {}
        for stage in stages:
            b = stage["bits"]
            art = os.path.join(work, f"uniform-{b}")
            if not os.path.exists(os.path.join(art, "manifest.json")):
                run([tool("pmpd-compile"), args.model, "-o", art,
                     "--schedule", f"prefill={b};decode={b}@0"])
            logits[b] = []
            for i, ids in enumerate(docs):
                dump = os.path.join(work, f"logits-{b}.npy")
                run([tool("pmpd-run"), art, "--prompt-ids",
                     ",".join(map(str, ids)), "-n", "1", "--ignore-eos",
                     "--dump-logits", dump])
                logits[b].append(np.load(dump)[:len(ids)])
                print(f"\r{b}-bit logits: {i + 1}/{len(docs)} documents",
                      end="", file=sys.stderr)
            print(file=sys.stderr)

        transitions, report = [], []
        for high, low in zip(stages, stages[1:]):
            xs, ys = [], []
            for hi, lo in zip(logits[high["bits"]], logits[low["bits"]]):
                n = len(hi)
                # Decode step t runs at position p = prefill + t; its
                # features come from position p - 1.
                p = np.arange(args.prefill + max(low["from"], 1), n)
                if len(p) == 0:
                    continue
                confidence, entropy = softmax_features(hi[p - 1])
                xs.append(np.stack([confidence, entropy,
                                    (p - args.prefill).astype(float)], axis=1))
                ys.append((hi[p].argmax(axis=1) == lo[p].argmax(axis=1))
                          .astype(float))
            if not xs:
                raise TrainError(f"no decode step reaches step {low['from']}; "
                                 "use longer documents or earlier stages")
            x, y = np.concatenate(xs), np.concatenate(ys)
            # The fit ranks the steps; the bias is then set by the fire
            # rate alone, so the fitted intercept does not matter.
            _, weights = fit_logistic(x, y)
            scores = x @ weights
            bias = -float(np.quantile(scores, 1 - args.fire_rate))
            fires = scores + bias > 0
            transitions.append({"bias": bias,
                                "weights": dict(zip(FEATURES,
                                                    map(float, weights)))})
            report.append({
                "from_bits": high["bits"], "to_bits": low["bits"],
                "samples": int(len(y)),
                "agreement_rate": float(y.mean()),
                "fire_rate": float(fires.mean()),
                "auc": auc(scores, y),
                "agreement_where_fires":
                    float(y[fires].mean()) if fires.any() else None,
            })

        result = {"format": "pmpd-learned-scheduler", "version": 1,
                  "stages": stages, "transitions": transitions,
                  "training": {"documents": len(docs),
                               "skip_docs": args.skip_docs,
                               "prefill": args.prefill,
                               "fire_rate": args.fire_rate,
                               "transitions": report}}
        with open(args.output, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        print(json.dumps(result["training"], indent=2))
    except (TrainError, EvalError, OSError, ValueError) as e:
        print(f"train_scheduler.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
