#!/usr/bin/env python3
"""Regenerates docs/report.md and its plots (docs/report/*.png): quality of
uniform, static PMPD and learned PMPD schedules against average decode bits
on docs-val, and their CPU decode speed.

    scripts/report.py [--max-docs N] [--build DIR]

From a clean checkout this one command does everything: scripts/setup.sh
(packages, build, the pmpd package), quantization of the bundled model,
the fp16 artifact and the probe artifacts (pmpd.tune), the measurements and
the plots. Intermediate artifacts are kept in BUILD/report/ and reused:
the learned schedulers' training (scripts/train_kv_scheduler.py on the
documents after the measured ones, about 20 minutes; scripts/train_scheduler.py,
a few) runs only when its output is not there.
"""
import argparse
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "fixtures", "pmpd-tiny-llama")
DOCS = os.path.join(ROOT, "fixtures", "docs-val.jsonl.xz")

# Task-agnostic static PMPD: fixed switch steps, not tuned on any data (the
# README's schedule and its halved and doubled variants).
AGNOSTIC = [(32, 64), (64, 128), (128, 256)]
BUDGETS = [0.5, 1.0, 2.0, 3.0]
# The prompt-adaptive scheduler's training: tokens generated per prompt (its
# candidate switch steps are 0, N/3 and 2N/3) and prompts per document.
KV_NEW_TOKENS = 96
KV_CUTS = 4
# The per-step classifier as docs/results.md trained it.
PER_STEP_STAGES = "4@0,3@16,2@48"
KV_KIND = "learned PMPD, prompt-adaptive (kv-cache)"
PER_STEP_KIND = "learned PMPD, per-step classifier"


def run(*command):
    print("report:", " ".join(map(str, command)), file=sys.stderr, flush=True)
    subprocess.run([str(c) for c in command], check=True)


def pareto(points):
    """Indices of the points no other point beats in both bits and KL."""
    front = []
    for i, p in enumerate(points):
        if not any(q.average_decode_bits <= p.average_decode_bits and
                   q.kl <= p.kl and (q.average_decode_bits, q.kl) !=
                   (p.average_decode_bits, p.kl) for q in points):
            front.append(i)
    return front


def decode_speed(probe, steps_of, tokens=128, prompt=128):
    """Decode tok/s at each precision of the probe, measured here."""
    ids = probe.tokenizer.encode(open(os.path.join(ROOT, "README.md")).read())
    speed = {}
    for bits, step in sorted(steps_of.items(), reverse=True):
        probe.reset()
        probe.prefill(ids[:prompt])
        token = ids[prompt]
        start = time.perf_counter()
        for _ in range(tokens):
            logits, _ = probe.decode(token, step)
            token = int(logits.argmax())
        speed[bits] = tokens / (time.perf_counter() - start)
    return speed


def modelled_speed(evaluator, schedule, speed):
    """A schedule's decode tok/s on the documents: their steps at each
    precision, at that precision's measured speed. A prompt-adaptive
    schedule's bits depend on the document (Decided); a per-step one's
    (None) are not known here."""
    if schedule is None:
        return None
    seconds = steps = 0
    for doc, count in enumerate(evaluator.decode_steps()):
        for s in range(count):
            bits = (schedule.bits_at(doc, s) if isinstance(schedule, Decided)
                    else schedule.bits_at(s))
            seconds += 1 / speed[bits]
            steps += 1
    return steps / seconds


def compile_learned(pmpd_compile, quantized, spec, source, out):
    """The artifact of a learned `spec` whose classifier file is `source`
    (reused while its copy of the file is the same)."""
    import filecmp
    copy = os.path.join(out, "scheduler.json")
    if not (os.path.exists(copy) and filecmp.cmp(copy, source,
                                                 shallow=False)):
        run(pmpd_compile, quantized, "-o", out, "--schedule", spec)
    return out


def measure(model, docs, fp16, prefill):
    """A compiled schedule's quality, as pmpd-run --ppl --kl-ref measures
    it (Model.perplexity)."""
    from pmpd.tune import Quality
    r = model.perplexity(docs, prefill=prefill, reference=fp16)
    return Quality(schedule=model.schedule, ppl=r.ppl, kl=r.kl,
                   top1_agreement=r.top1_agreement,
                   average_decode_bits=r.average_decode_bits,
                   tokens=r.tokens, decode_steps=r.decode_steps)


class Decided:
    """The static schedule a prompt-adaptive scheduler chose for each
    document, as the Python classifiers choose it from the artifact's own
    cache after the prefill; bits_at(doc, step)."""

    def __init__(self, scheduler, model, docs, prefill):
        self.scheduler, self.first = scheduler, []
        for doc in docs:
            n = min(prefill, len(doc) - 1)
            model.reset()
            model.prefill(doc[:n])
            self.first.append(scheduler.first_steps(*model.kv_cache(n)))

    def bits_at(self, doc, step):
        return self.scheduler.bits_at(self.first[doc], step)


def learned_rows(args, bin_dir, work, quantized, fp16_dir, probe_dir, fp16,
                 docs, evaluator, log):
    """(kind, label, decided schedules or None, Quality) of the learned
    schedulers, measured on their own compiled artifacts, and what the
    report says about their training."""
    import json
    from pmpd import kv_scheduler as ks
    import pmpd
    compiler = os.path.join(bin_dir, "pmpd-compile")
    rows, notes = [], {}
    kv_file = os.path.join(work, "kv.json")
    if not os.path.exists(kv_file):
        start = time.time()
        run(sys.executable, os.path.join(ROOT, "scripts",
                                         "train_kv_scheduler.py"),
            "--fp16", fp16_dir, "--probe", probe_dir, "-o", kv_file,
            "--new-tokens", KV_NEW_TOKENS, "--cuts", KV_CUTS,
            "--train-docs", f"{args.max_docs or 32}:",
            "--val-docs", f":{args.max_docs or 32}",
            "--data", os.path.join(work, "kvdata"))
        log(f"trained the kv-cache scheduler in {time.time() - start:.0f} s")
    with open(os.path.join(work, "kv-training.json")) as f:
        notes["kv_training"] = json.load(f)
    trained = ks.KVCacheScheduler.load(kv_file)
    longest = max(evaluator.decode_steps())
    variants = [("switch steps as trained", trained.switch_steps),
                ("switch steps scaled to the documents",
                 [0, longest // 3, longest // 3 * 2])]
    notes["kv_checked"] = []
    for label, steps in variants:
        name = "kv-" + "-".join(map(str, steps))
        scheduler = trained.with_switch_steps(steps)
        source = os.path.join(work, name + ".json")
        scheduler.save(source)
        art = compile_learned(compiler, quantized,
                              f"prefill=4;decode=kv-cache:{source}", source,
                              os.path.join(work, name))
        with pmpd.load(art) as model:
            quality = measure(model, docs, fp16, args.ppl_prefill)
            decided = Decided(scheduler, model, docs, args.ppl_prefill)
        # The compiled decisions are the Python classifiers': the bits of
        # every decode step follow from them.
        bits = [decided.bits_at(i, s) for i, count in
                enumerate(evaluator.decode_steps()) for s in range(count)]
        if sum(bits) != round(quality.average_decode_bits *
                              quality.decode_steps):
            raise SystemExit(f"report: {art}: the compiled classifiers ran "
                             f"{quality.average_decode_bits} bits on "
                             f"average, the Python ones decide "
                             f"{sum(bits) / len(bits)}")
        notes["kv_checked"].append(len(docs))
        quality.schedule = f"prefill=4;decode=kv-cache ({'/'.join(map(str, steps))})"
        rows.append((KV_KIND, label, decided, quality))
        log(f"{label}: {quality}")

    per_step = os.path.join(work, "per-step.json")
    if not os.path.exists(per_step):
        start = time.time()
        run(sys.executable, os.path.join(ROOT, "scripts",
                                         "train_scheduler.py"), quantized,
            "--stages", PER_STEP_STAGES, "--fire-rate", 0.05,
            "--skip-docs", args.max_docs or 32, "-o", per_step,
            "--prefill", args.ppl_prefill, "--bin", bin_dir,
            "--work", os.path.join(work, "per-step"))
        log(f"trained the per-step scheduler in {time.time() - start:.0f} s")
    art = compile_learned(compiler, quantized,
                          f"prefill=4;decode=learned:{per_step}", per_step,
                          os.path.join(work, "per-step-art"))
    with pmpd.load(art) as model:
        quality = measure(model, docs, fp16, args.ppl_prefill)
    quality.schedule = f"prefill=4;decode=learned ({PER_STEP_STAGES})"
    rows.append((PER_STEP_KIND, "fire rate 0.05", None, quality))
    log(f"per-step: {quality}")
    return rows, notes


def plot(rows, front, metric, label, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    styles = {"uniform": ("s", "tab:gray"), "static PMPD, task-agnostic":
              ("o", "tab:blue"), "static PMPD, tuned": ("^", "tab:orange"),
              KV_KIND: ("D", "tab:green"), PER_STEP_KIND: ("v", "tab:red")}
    for kind, (marker, color) in styles.items():
        pts = [r[3] for r in rows if r[0] == kind]
        ax.scatter([q.average_decode_bits for q in pts],
                   [getattr(q, metric) for q in pts], marker=marker,
                   color=color, label=kind, s=40, zorder=3)
    line = sorted((r[3] for r in rows if r[0] == "uniform"),
                  key=lambda q: q.average_decode_bits)
    ax.plot([q.average_decode_bits for q in line],
            [getattr(q, metric) for q in line], ":", color="tab:gray",
            linewidth=1, label="uniform, interpolated", zorder=1)
    frontier = sorted((rows[i][3] for i in front),
                      key=lambda q: q.average_decode_bits)
    ax.plot([q.average_decode_bits for q in frontier],
            [getattr(q, metric) for q in frontier], "--", color="black",
            linewidth=1, label="Pareto front (bits, KL)", zorder=2)
    ax.set_xlabel("average decode bits")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--max-docs", type=int, default=0,
                        help="the first N documents of docs-val (0: all)")
    parser.add_argument("--ppl-prefill", type=int, default=128)
    parser.add_argument("--thresholds", default="0,32,64,128,192,256",
                        help="the tuner's candidate switch steps")
    parser.add_argument("--no-setup", action="store_true",
                        help="skip scripts/setup.sh (a build is there)")
    args = parser.parse_args()
    if not args.no_setup:
        run(os.path.join(ROOT, "scripts", "setup.sh"), args.build)
    os.environ.setdefault("PMPD_LIBRARY",
                          os.path.join(args.build, "lib", "libpmpd.so"))
    import pmpd
    from pmpd.tune import (Evaluator, Schedule, compile_probe, search,
                           stage_steps, tokenize, uniform)

    bin_dir = os.path.join(args.build, "bin")
    work = os.path.join(args.build, "report")
    os.makedirs(work, exist_ok=True)
    quantized = os.path.join(work, "q")
    if not os.path.exists(os.path.join(quantized, "config.json")):
        run(os.path.join(bin_dir, "pmpd-quantize"), MODEL, "-o", quantized)
    fp16_dir = os.path.join(work, "fp16")
    if not os.path.exists(os.path.join(fp16_dir, "manifest.json")):
        run(os.path.join(bin_dir, "pmpd-compile"), MODEL, "-o", fp16_dir)
    fp16 = pmpd.load(fp16_dir)
    probes = {p: pmpd.load(compile_probe(os.path.join(bin_dir, "pmpd-compile"),
                                         quantized, p,
                                         os.path.join(work, f"probe{p}")))
              for p in (4, 3, 2)}
    docs = tokenize(fp16, DOCS, args.max_docs)
    evaluator = Evaluator(probes, fp16, docs, args.ppl_prefill)
    log = lambda line: print("report:", line, file=sys.stderr, flush=True)

    rows = []  # (kind, label, Schedule, Quality)

    def add(kind, label, schedule):
        quality = evaluator.evaluate(schedule)
        log(f"{label}: {quality}")
        if all(r[2].spec() != schedule.spec() for r in rows):
            rows.append((kind, label, schedule, quality))

    for bits in (4, 3, 2):
        add("uniform", f"uniform {bits}-bit", uniform(bits))
    for to3, to2 in AGNOSTIC:
        add("static PMPD, task-agnostic", "fixed switch steps",
            Schedule(4, to3, to2))
    thresholds = [int(t) for t in args.thresholds.split(",")]
    tuned = {}
    for budget in BUDGETS:
        best, base, limit, _ = search(evaluator, budget, [4], thresholds, log)
        tuned[budget] = (best, limit)
        if best is not None:
            add("static PMPD, tuned", f"pmpd-tune --budget {budget}", best)
    learned, notes = learned_rows(
        args, bin_dir, work, quantized, fp16_dir,
        os.path.join(work, "probe4"), fp16, docs, evaluator, log)
    rows += learned
    front = pareto([r[3] for r in rows])

    speed = decode_speed(probes[4], stage_steps(probes[4]))
    load = os.getloadavg()[0]

    out_dir = os.path.join(ROOT, "docs", "report")
    os.makedirs(out_dir, exist_ok=True)
    plots = [("ppl", "perplexity", "ppl.png"),
             ("kl", "KL(fp16 || schedule), nats per token", "kl.png"),
             ("top1_agreement", "top-1 agreement with fp16", "top1.png")]
    for metric, label, name in plots:
        plot(rows, front, metric, label, os.path.join(out_dir, name))

    u4 = rows[0][3]
    command = "scripts/report.py" + (f" --max-docs {args.max_docs}"
                                     if args.max_docs else "")
    scope = ("all" if not args.max_docs else
             f"the first {args.max_docs} (a subset, to keep one run within "
             "half an hour on a shared 2-core machine; without --max-docs "
             "the command measures all)")
    lines = [
        "# Report: PMPD schedules against uniform quantization",
        "",
        f"Generated by `{command}`: from a clean checkout it sets up, builds, "
        "quantizes, compiles and measures (intermediate artifacts in "
        "`build/report/`). Do not edit by hand.",
        "",
        "## Protocol",
        "",
        "- Model: the bundled `pmpd-tiny-llama`, quantized by `pmpd-quantize` "
        "with its defaults (any-precision 2..4 bits, one packed copy).",
        f"- Documents: docs-val, {scope} documents; {len(docs)} kept under the "
        "fixture protocol (first 512 ids, none under 32): "
        f"{sum(len(d) - 1 for d in docs)} predicted tokens, "
        f"{sum(evaluator.decode_steps())} of them as decode steps.",
        f"- Each document's first {args.ppl_prefill} positions run as prefill "
        "at the prefill precision, every later position as one decode step at "
        "the precision the schedule gives that step, as `pmpd-run --ppl "
        "--kl-ref` runs them. Perplexity; mean KL(fp16 ‖ schedule) per "
        "predicted token; top-1 agreement with fp16: the share of positions "
        "whose greedy choice (argmax) is fp16's, teacher-forced.",
        "- Schedules run through probe artifacts (`pmpd.tune`, "
        "docs/python.md): the same compiled code as each schedule's own "
        "artifact (`python/tests/test_tune.py` checks the perplexity against "
        "a compiled schedule's to 9 digits).",
        "- Task-agnostic: fixed switch steps, tuned on nothing. Tuned: "
        "`pmpd-tune` on these documents (prefill 4 bits; switch steps among "
        f"{args.thresholds} or never) for the fewest average decode bits "
        "whose KL is at most (1 + budget) × uniform 4-bit's "
        f"({u4.kl:.5f}), for budgets {', '.join(map(str, BUDGETS))}: "
        "tuned and measured on the same documents (in-sample).",
        "- Uniform b-bit prefills at b bits; every PMPD schedule prefills at "
        "4 bits, as PMPD does (prefill at the higher precision). "
        "`prefill=4;decode=3@0`, where it appears, against uniform 3-bit "
        "shows how much of the gain is the prefill's.",
        "",
        "## Results",
        "",
        "| schedule | kind | avg decode bits | perplexity | KL to fp16 | "
        "top-1 agreement | CPU decode tok/s (modelled) | Pareto |",
        "|---|---|---:|---:|---:|---:|---:|:-:|",
    ]
    order = sorted(range(len(rows)), key=lambda i: -rows[i][3].average_decode_bits)
    for i in order:
        kind, label, schedule, q = rows[i]
        tps = modelled_speed(evaluator, schedule, speed)
        lines.append(
            f"| `{q.schedule}` | {kind} ({label}) | "
            f"{q.average_decode_bits:.3f} | {q.ppl:.3f} | {q.kl:.5f} | "
            f"{100 * q.top1_agreement:.2f}% | "
            f"{'—' if tps is None else f'{tps:.1f}'} | "
            f"{'★' if i in front else ''} |")
    lines += [
        "",
        "fp16 on the same documents: perplexity "
        f"{evaluator.reference_perplexity():.3f}.",
        "",
        "★: on the Pareto front of (average decode bits, KL): no other "
        "schedule has both fewer bits and a lower KL. The plots draw it "
        "dashed.",
        "",
        "![perplexity](report/ppl.png)",
        "![KL to fp16](report/kl.png)",
        "![top-1 agreement with fp16](report/top1.png)",
        "",
    ]
    lines += findings(rows)
    lines += learned_findings(rows, notes, len(docs), args)
    lines += [
        "## Speed",
        "",
        "CPU decode speed per precision, measured in this run on the probe "
        f"({probes[4].device}; 128 greedy steps after a 128-token prompt; "
        f"load average {load:.1f} on {os.cpu_count()} cores, "
        f"{platform.machine()}): " +
        ", ".join(f"{b}-bit {s:.1f} tok/s"
                  for b, s in sorted(speed.items(), reverse=True)) +
        ". A schedule's tok/s in the table is modelled from these: its decode "
        "steps on the documents, each at its precision's speed. A load "
        "average above the core count means that other work shared the "
        "cores: absolute numbers are then low, their ratios are what to "
        "read. GPU and NPU rows join when those targets report numbers.",
        "",
    ]
    with open(os.path.join(ROOT, "docs", "report.md"), "w") as f:
        f.write("\n".join(lines))
    print("report: wrote docs/report.md and docs/report/*.png",
          file=sys.stderr)


def findings(rows):
    """Each PMPD schedule against uniform quantization at its own average
    bits: the uniform points' metrics interpolated linearly in bits."""
    import numpy as np
    uniform_rows = sorted((r[3] for r in rows if r[0] == "uniform"),
                          key=lambda q: q.average_decode_bits)
    bits = [q.average_decode_bits for q in uniform_rows]

    def at(q, metric):
        return float(np.interp(q.average_decode_bits, bits,
                               [getattr(u, metric) for u in uniform_rows]))

    lines = ["## At equal bits", "",
             "Each PMPD schedule against uniform quantization at the same "
             "average decode bits (the uniform 2/3/4-bit points interpolated "
             "linearly in bits):", "",
             "| schedule | bits | perplexity (uniform) | KL (uniform) | "
             "top-1 (uniform) | better on all three |",
             "|---|---:|---:|---:|---:|:-:|"]
    wins = total = 0
    for kind, label, schedule, q in rows:
        if kind == "uniform":
            continue
        better = (q.ppl < at(q, "ppl") and q.kl < at(q, "kl") and
                  q.top1_agreement > at(q, "top1_agreement"))
        wins += better
        total += 1
        lines.append(
            f"| `{q.schedule}` | {q.average_decode_bits:.3f} | "
            f"{q.ppl:.3f} ({at(q, 'ppl'):.3f}) | {q.kl:.5f} "
            f"({at(q, 'kl'):.5f}) | {100 * q.top1_agreement:.2f}% "
            f"({100 * at(q, 'top1_agreement'):.2f}%) | "
            f"{'yes' if better else 'no'} |")
    kl = {round(u.average_decode_bits): u.kl for u in uniform_rows}
    lines += [
        "", f"{wins} of {total} PMPD schedules beat uniform quantization at "
        "equal bits on all three measures.", "",
        "Why a schedule can lose: on this model the quality lost per bit is "
        f"convex. Uniform KL to fp16 is {kl[4]:.4f} at 4 bits, {kl[3]:.4f} "
        f"at 3 and {kl[2]:.4f} at 2: the step from 3 to 2 bits costs "
        f"{(kl[2] - kl[3]) / (kl[3] - kl[4]):.1f}× the step from 4 to 3. "
        "Spending some decode steps at 4 bits and others at 2 therefore "
        "loses more than it gains against 3 bits throughout, unless the "
        "steps run at 2 bits tolerate it much better than the steps run at "
        "4 (PMPD's premise: later steps are more tolerant). A schedule that "
        "beats the line between two uniform points shows that premise at "
        "work in its range of bits; one that does not shows it weaker than "
        "the convexity there.", ""]
    return lines


def learned_findings(rows, notes, documents, args):
    """The learned schedulers against static PMPD at equal bits (the static
    schedules' Pareto front, interpolated linearly in bits), and what their
    training says."""
    import numpy as np
    static = [r[3] for r in rows if r[0].startswith("static PMPD")]
    front = sorted((static[i] for i in pareto(static)),
                   key=lambda q: q.average_decode_bits)
    bits = [q.average_decode_bits for q in front]

    def at(q, metric):
        return float(np.interp(q.average_decode_bits, bits,
                               [getattr(f, metric) for f in front]))

    lines = ["## Learned PMPD against static PMPD", "",
             "Each learned schedule against the static PMPD schedules' "
             "Pareto front at the same average decode bits (interpolated "
             "linearly in bits; outside the front's range of bits, its "
             "nearest end):", "",
             "| schedule | bits | perplexity (static) | KL (static) | "
             "top-1 (static) | as good or better on all three |",
             "|---|---:|---:|---:|---:|:-:|"]
    for kind, label, _, q in rows:
        if not kind.startswith("learned"):
            continue
        good = (q.ppl <= at(q, "ppl") and q.kl <= at(q, "kl") and
                q.top1_agreement >= at(q, "top1_agreement"))
        lines.append(
            f"| `{q.schedule}` | {q.average_decode_bits:.3f} | "
            f"{q.ppl:.3f} ({at(q, 'ppl'):.3f}) | {q.kl:.5f} "
            f"({at(q, 'kl'):.5f}) | {100 * q.top1_agreement:.2f}% "
            f"({100 * at(q, 'top1_agreement'):.2f}%) | "
            f"{'yes' if good else 'no'} |")
    training = notes["kv_training"]
    n = training["new_tokens"]
    lines += [
        "",
        "The prompt-adaptive scheduler is PMPD's `kv_cache` scheduler "
        "(`decode=kv-cache:FILE`, docs/python.md): after the prefill, one "
        "classifier per switch (4→3, 3→2 bits) reads the last layer's KV "
        "cache of the prompt and picks the switch step among 0, N/3 and "
        "2N/3, or never. It was trained by `scripts/train_kv_scheduler.py` "
        f"on prompts cut from the documents after the first {documents} "
        f"(so out of sample here), N = {n} generated tokens, labels from "
        "ROUGE-L against the fp16 continuation; then compiled twice: with "
        f"the candidate steps it was trained with ({training['candidates']}) "
        "and with the same fractions of the documents' decode steps. Its "
        "compiled decisions are the Python classifiers': on each of the "
        f"{documents} documents the report decides in Python from the "
        "artifact's own cache, and the bits every decode step ran at agree "
        "with the compiled run's (checked, or the report stops). "
        "`python/tests/test_kv_scheduler.py` checks the same step by step "
        "on 32 validation prompts.",
        "",
        "| switch | training labels (0, N/3, 2N/3, never) | "
        "validation labels | validation predictions | train accuracy | "
        "validation accuracy | always the most common label |",
        "|---|---|---|---|---:|---:|---:|"]
    for pair in training["pairs"]:
        lines.append(
            f"| {pair['high']}→{pair['low']} | {pair['train_labels']} | "
            f"{pair['val_labels']} | {pair['val_predictions']} | "
            f"{pair['train_accuracy']:.2f} | {pair['val_accuracy']:.2f} | "
            f"{pair['val_majority_accuracy']:.2f} |")
    lines.append("")
    return lines


if __name__ == "__main__":
    main()
