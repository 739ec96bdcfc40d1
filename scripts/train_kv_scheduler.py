#!/usr/bin/env python3
"""Trains PMPD's prompt-adaptive scheduler (the `kv_cache` scheduler of
SamsungLabs/PMPD) on the fixture and writes the file that
`pmpd-compile --schedule 'prefill=4;decode=kv-cache:FILE'` compiles.

    scripts/train_kv_scheduler.py --fp16 FP16_ART --probe PROBE_ART -o kv.json
        [--docs fixtures/docs-val.jsonl.xz] [--train-docs 32:] [--val-docs :32]
        [--cuts 3] [--new-tokens 64] [--data DATA.npz]

Data, as PMPD's generate_train_dataset.py makes it: prompts cut from the
documents at random lengths (between min(32, n/2) and n of the document's
first 512 ids), the fp16 artifact's greedy continuation of N tokens as the
reference. For each switch (4->3, 3->2 bits), the prompt is prefilled at 4
bits and decoded greedily at the higher precision throughout, and with a
switch to the lower one at each candidate step K in {0, N/3, 2N/3}; the label
is the smallest K whose continuation is as good as the high-precision one
against the reference (ROUGE-L F1 of PyPI's rouge-score, rounded to 3
digits), else "never". (PMPD prefills the 3->2 data at 3 bits; here every
prefill is the schedule's 4.) The features are the prompt's last-layer KV
cache after the prefill, read from the runtime (Model.kv_cache).

All runs go through one *probe* artifact (pmpd.tune: its switch point picks
the precision from the step number given), branching the high-precision run
at each K with Model.rewind instead of prefilling again: decode at position p
reads the cache rows before p only, so the rows a later run overwrote are
rewritten before they are read.

Training is PMPD's (pmpd.kv_scheduler): cross entropy, AdamW lr 4.5e-3,
weight decay 0.08, 30 epochs. It prints the label counts and each
classifier's accuracy on the training and validation prompts; --data keeps
the generated data so that training alone can be repeated.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

import numpy as np

import pmpd
from pmpd import kv_scheduler as ks
from pmpd.tune import stage_steps

BITS = [4, 3, 2]


def doc_range(spec, count):
    start, _, stop = spec.partition(":")
    return range(int(start or 0), int(stop) if stop else count)


def prompts_of(docs, indices, cuts, rng):
    """(document index, prompt ids) at random lengths, as PMPD cuts them."""
    out = []
    for i in indices:
        ids = docs[i]
        low = min(32, len(ids) // 2)
        for _ in range(cuts):
            out.append((i, ids[:rng.randint(max(low, 2), len(ids))]))
    return out


class Runner:
    """Greedy continuations on the probe at any precision per step."""

    def __init__(self, probe: pmpd.Model, eos: int):
        self.probe, self.eos = probe, eos
        self.step_of = stage_steps(probe)

    def prefill(self, prompt):
        self.probe.reset()
        self.prompt = len(prompt)
        return int(self.probe.prefill(prompt).argmax())

    def run(self, base, switch, high, low, n):
        """`n` tokens: base[:switch + 1], then decode steps from `switch` on
        at `low` bits (high before: base must have run at `high` and be the
        last run whose rows reach position prompt + switch)."""
        tokens = list(base[:switch + 1])
        if tokens[-1] == self.eos or len(tokens) >= n:
            return tokens
        self.probe.rewind(self.prompt + switch)
        for s in range(switch, n - 1):
            bits = low if s >= switch else high
            logits, ran = self.probe.decode(tokens[-1], self.step_of[bits])
            assert ran == bits, (ran, bits)
            tokens.append(int(logits.argmax()))
            if tokens[-1] == self.eos:
                break
        return tokens


def reference(fp16: pmpd.Model, prompt, n, eos):
    out = fp16.generate(prompt, max_new_tokens=n, stop_at_eos=True)
    return list(out.ids)


def rouge_scorer_module():
    """PyPI's rouge-score (the reference ROUGE-L), installed if missing."""
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                        "rouge-score==0.1.2"], check=True)
        from rouge_score import rouge_scorer
    return rouge_scorer


def make_data(fp16, probe, prompts, n, candidates, log):
    rouge_scorer = rouge_scorer_module()
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    eos = probe.tokenizer.eos_id
    runner = Runner(probe, eos)

    def rouge(tokens, ref_text):
        text = probe.tokenizer.decode(tokens, skip_special=True)
        return scorer.score(ref_text, text)["rougeL"].fmeasure

    features, labels, rows = [], [], []
    start = time.time()
    for count, (doc, prompt) in enumerate(prompts):
        ref_text = fp16.tokenizer.decode(reference(fp16, prompt, n, eos),
                                         skip_special=True)
        first = runner.prefill(prompt)
        keys, values = probe.kv_cache(len(prompt))
        features.append(ks.head_means(keys, values))
        high = runner.run([first], 0, 4, 4, n)
        pair_labels, scores = [], []
        base = high
        for high_bits, low_bits in zip(BITS, BITS[1:]):
            base_score = round(rouge(base, ref_text), 3)
            mixes = {}
            for k in sorted(candidates, reverse=True):
                mixes[k] = runner.run(base, k, high_bits, low_bits, n)
            good = [i for i, k in enumerate(candidates)
                    if round(rouge(mixes[k], ref_text), 3) >= base_score]
            pair_labels.append(min(good + [len(candidates)]))
            scores.append(base_score)
            # The next pair's high-precision run: the lower bits from step 0
            # (the last run, so its rows are the cache's).
            base = mixes[0]
        labels.append(pair_labels)
        rows.append({"doc": doc, "prompt_length": len(prompt),
                     "labels": pair_labels, "rouge_high": scores})
        if log and (count + 1) % 10 == 0:
            log(f"{count + 1}/{len(prompts)} prompts, "
                f"{time.time() - start:.0f} s")
    return features, np.asarray(labels), rows


def save_data(path, features, labels, rows):
    lengths = np.asarray([len(k) for k, _ in features])
    np.savez_compressed(
        path, k=np.concatenate([k for k, _ in features]),
        v=np.concatenate([v for _, v in features]), lengths=lengths,
        labels=labels, rows=json.dumps(rows))


def load_data(path):
    data = np.load(path)
    bounds = np.cumsum(np.concatenate([[0], data["lengths"]]))
    features = [(data["k"][a:b], data["v"][a:b])
                for a, b in zip(bounds[:-1], bounds[1:])]
    return features, data["labels"], json.loads(str(data["rows"]))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fp16", required=True, help="the fp16 artifact")
    parser.add_argument("--probe", required=True,
                        help="a static probe artifact of the packed model "
                             "(pmpd.tune.compile_probe), prefill 4 bits")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--docs", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        "fixtures", "docs-val.jsonl.xz"))
    parser.add_argument("--train-docs", default="32:",
                        help="documents to train on, START:STOP (32:)")
    parser.add_argument("--val-docs", default=":32",
                        help="documents to validate on (:32, the report's)")
    parser.add_argument("--cuts", type=int, default=3,
                        help="prompts cut from each document (3)")
    parser.add_argument("--new-tokens", type=int, default=64,
                        help="N: tokens generated per prompt (64)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--data", help="keep the generated data here (.npz "
                        "prefix: DATA-train.npz, DATA-val.npz) and reuse it")
    args = parser.parse_args(argv)

    def log(message):
        print("train_kv_scheduler:", message, file=sys.stderr, flush=True)

    n = args.new_tokens
    candidates = [0, n // 3, n // 3 * 2]
    fp16 = pmpd.load(args.fp16, threads=args.threads)
    probe = pmpd.load(args.probe, threads=args.threads)
    _, heads, head_dim = probe.kv_shape
    docs = [probe.tokenizer.encode(t)[:512]
            for t in pmpd.read_documents(args.docs)]
    rng = random.Random(args.seed)
    sets = {}
    for name, spec in (("train", args.train_docs), ("val", args.val_docs)):
        path = f"{args.data}-{name}.npz" if args.data else None
        if path and os.path.exists(path):
            sets[name] = load_data(path)
            log(f"{name}: {len(sets[name][0])} prompts from {path}")
            continue
        prompts = prompts_of(docs, doc_range(spec, len(docs)), args.cuts, rng)
        start = time.time()
        sets[name] = make_data(fp16, probe, prompts, n, candidates, log)
        log(f"{name}: {len(prompts)} prompts labelled in "
            f"{time.time() - start:.0f} s")
        if path:
            save_data(path, *sets[name])

    scheduler = ks.KVCacheScheduler(BITS, candidates, heads, head_dim)
    report = {"candidates": candidates, "new_tokens": n, "pairs": []}
    train_x, train_y, _ = sets["train"]
    val_x, val_y, _ = sets["val"]
    for pair, (high, low) in enumerate(zip(BITS, BITS[1:])):
        start = time.time()
        c = ks.train_classifier(train_x, train_y[:, pair], high, low, heads,
                                scheduler.classes, epochs=args.epochs,
                                seed=args.seed, log=log)
        scheduler.classifiers.append(c)
        params = {k: v.astype(np.float64) for k, v in c.params.items()}
        train_acc = float((ks.predict(params, train_x) ==
                           train_y[:, pair]).mean())
        val_pred = ks.predict(params, val_x)
        val_acc = float((val_pred == val_y[:, pair]).mean())
        majority = int(np.bincount(train_y[:, pair],
                                   minlength=scheduler.classes).argmax())
        entry = {
            "high": high, "low": low, "seconds": round(time.time() - start, 1),
            "train_labels": np.bincount(train_y[:, pair],
                                        minlength=scheduler.classes).tolist(),
            "val_labels": np.bincount(val_y[:, pair],
                                      minlength=scheduler.classes).tolist(),
            "val_predictions": np.bincount(
                val_pred, minlength=scheduler.classes).tolist(),
            "train_accuracy": train_acc, "val_accuracy": val_acc,
            "val_majority_accuracy": float((val_y[:, pair] ==
                                            majority).mean())}
        report["pairs"].append(entry)
        log(json.dumps(entry))
    scheduler.save(args.output)
    with open(os.path.splitext(args.output)[0] + "-training.json", "w") as f:
        json.dump(report, f, indent=1)
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
