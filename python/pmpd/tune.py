"""pmpd-tune: the static PMPD schedule of the lowest average decode bits
whose KL divergence to fp16 stays within a budget.

    pmpd-tune MODEL_Q --fp16 FP16_ART [--budget 0.25] [--docs FILE]

Quality is measured as `pmpd-run --ppl --kl-ref` does (Evaluation.h): each
document's first --ppl-prefill positions run as prefill at the prefill
precision, each later position as one decode step. The budget is relative to
uniform 4-bit: a schedule's mean KL(fp16 || schedule) may be at most
(1 + budget) times uniform 4-bit's. A schedule's average decode bits follow
from its thresholds and the documents' lengths alone, so the search only
measures KL: for each switch step to 3 bits it bisects the switch step to 2
bits (KL falls as either switch comes later), and keeps the feasible
schedule of the fewest bits (ties: the lower prefill precision).

Every candidate runs without compiling it: a *probe* artifact per prefill
precision is compiled once with the schedule 4@0,3@S,2@2S (S far beyond any
document), and each decode step is given the step number that makes its
switch point pick the precision the candidate wants there. The compiled
switch point of a static schedule is a pure function of the step, so this
runs exactly what the candidate's own artifact runs (python/tests/test_tune.py
checks it against a compiled one). The fp16 reference logits come from one
prefill of each document.

Prints the schedule string for `pmpd-compile --schedule`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

import pmpd

# The probe's stages start at steps that no document reaches as a real step
# (any static artifact can be a probe: its stages' first steps pick them).
PROBE_STEP = 1 << 20
PROBE_SCHEDULE = "decode=4@0,3@{},2@{}".format(PROBE_STEP, 2 * PROBE_STEP)
NEVER = None  # A switch that never happens.


def stage_steps(model: pmpd.Model) -> Dict[int, int]:
    """{bits: the first step of its stage} of a static artifact's schedule:
    the step to give a decode step that should run at those bits."""
    fields = dict(f.split("=", 1) for f in model.schedule.split(";")
                  if "=" in f)
    if "learned" in model.schedule or "nonmonotone" in model.schedule:
        raise pmpd.PMPDError(f"{model.path}: a probe needs a static, "
                             f"monotone schedule, not {model.schedule}")
    return {int(b): int(s) for b, s in
            (stage.split("@") for stage in fields["decode"].split(","))}


@dataclass(frozen=True)
class Schedule:
    """prefill=P; decode at 4 bits, 3 bits from step `to3`, 2 bits from step
    `to2` (None: never). A start of 3 or 2 bits is a switch at step 0."""
    prefill: int
    to3: Optional[int]
    to2: Optional[int]
    first: int = 4  # The first decode stage's bits (uniform 3 and 2).

    def bits_at(self, step: int) -> int:
        if self.first > 2 and self.to2 is not NEVER and step >= self.to2:
            return 2
        if self.first > 3 and self.to3 is not NEVER and step >= self.to3:
            return 3
        return self.first

    def stages(self) -> List[Tuple[int, int]]:
        """[(bits, first step)] as the schedule string lists them."""
        starts = sorted({0} | {s for s in (self.to3, self.to2)
                               if s is not NEVER})
        stages = []
        for step in starts:
            bits = self.bits_at(step)
            if not stages or stages[-1][0] != bits:
                stages.append((bits, step))
        return stages

    def spec(self) -> str:
        decode = ",".join(f"{b}@{s}" for b, s in self.stages())
        return f"prefill={self.prefill};decode={decode}"


def uniform(bits: int) -> Schedule:
    return Schedule(prefill=bits, to3=NEVER, to2=NEVER, first=bits)


@dataclass
class Quality:
    """The numbers of `pmpd-run --ppl --kl-ref` for one schedule."""
    schedule: str
    ppl: float
    kl: float
    top1_agreement: float
    average_decode_bits: float
    tokens: int
    decode_steps: int


def log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Evaluator:
    """Scores schedules on tokenized documents against fp16, through the
    probe artifacts (one per prefill precision)."""

    def __init__(self, probes: Dict[int, pmpd.Model], fp16: pmpd.Model,
                 docs: Sequence[Sequence[int]], prefill_positions: int = 128):
        self.probes, self.fp16 = probes, fp16
        self.steps = {p: stage_steps(m) for p, m in probes.items()}
        self.docs = [list(d) for d in docs]
        self.prefill_positions = prefill_positions
        self._reference = {}
        self._prefill = {}
        self._measured = {}

    def decode_steps(self) -> List[int]:
        """Each document's decode steps."""
        return [len(d) - 1 - min(self.prefill_positions, len(d) - 1)
                for d in self.docs]

    def average_bits(self, schedule: Schedule) -> float:
        """From the thresholds alone: no model runs."""
        total = count = 0
        for steps in self.decode_steps():
            total += sum(schedule.bits_at(s) for s in range(steps))
            count += steps
        return total / count if count else 0.0

    def reference_perplexity(self) -> float:
        """fp16's perplexity on the documents."""
        nll = tokens = 0
        for i, doc in enumerate(self.docs):
            rows = np.arange(len(doc) - 1)
            nll += self._scores(self._log_probs(i), i, rows)[0]
            tokens += len(rows)
        return float(np.exp(nll / tokens))

    def _log_probs(self, doc_index):
        """fp16's log-probabilities at every position of the document but
        the last, kept: every schedule compares against them."""
        if doc_index not in self._reference:
            self._reference[doc_index] = log_softmax(
                self.fp16.logits(self.docs[doc_index][:-1])).astype(
                    np.float32)
        return self._reference[doc_index]

    def _scores(self, logits, doc_index, rows):
        """NLL, KL and agreements of `logits` [rows] predicting the
        document's tokens after `rows`."""
        doc = self.docs[doc_index]
        reference = self._log_probs(doc_index)[rows]
        logp = log_softmax(logits)
        targets = np.asarray(doc)[rows + 1]
        nll = -logp[np.arange(len(rows)), targets].sum()
        kl = (np.exp(reference) * (reference - logp)).sum()
        agree = int((reference.argmax(-1) == logp.argmax(-1)).sum())
        return float(nll), float(kl), agree

    def evaluate(self, schedule: Schedule) -> Quality:
        """The schedule's quality (measured once: kept for later calls)."""
        if schedule not in self._measured:
            self._measured[schedule] = self._evaluate(schedule)
        return self._measured[schedule]

    def _evaluate(self, schedule: Schedule) -> Quality:
        probe = self.probes[schedule.prefill]
        steps_of = self.steps[schedule.prefill]
        missing = {b for b, _ in schedule.stages()} - set(steps_of)
        if missing:
            raise pmpd.PMPDError(f"{probe.path}: the probe has no stage of "
                                 f"{sorted(missing)} bits")
        nll = kl = 0.0
        agree = tokens = steps = bits_sum = 0
        for i, doc in enumerate(self.docs):
            n = len(doc)
            prefill = min(self.prefill_positions, n - 1)
            key = (schedule.prefill, i)
            if key not in self._prefill:
                # The prefill positions' scores depend on its precision only.
                self._prefill[key] = self._scores(
                    probe.logits(doc[:prefill]), i, np.arange(prefill))
            else:
                probe.reset()
                probe.prefill(doc[:prefill])
            p_nll, p_kl, p_agree = self._prefill[key]
            logits = np.empty((n - 1 - prefill, probe.vocab_size), np.float32)
            for p in range(prefill, n - 1):
                want = schedule.bits_at(p - prefill)
                logits[p - prefill], ran = probe.decode(doc[p],
                                                        steps_of[want])
                assert ran == want, (ran, want)
                bits_sum += ran
            d_nll, d_kl, d_agree = self._scores(
                logits, i, np.arange(prefill, n - 1))
            nll += p_nll + d_nll
            kl += p_kl + d_kl
            agree += p_agree + d_agree
            tokens += n - 1
            steps += n - 1 - prefill
        return Quality(schedule=schedule.spec(), ppl=float(np.exp(nll / tokens)),
                       kl=kl / tokens, top1_agreement=agree / tokens,
                       average_decode_bits=bits_sum / steps if steps else 0.0,
                       tokens=tokens, decode_steps=steps)


def compile_probe(pmpd_compile: str, model_dir, prefill_bits: int, out) -> str:
    """The probe artifact of `prefill_bits` (reused if `out` has it)."""
    spec = f"prefill={prefill_bits};{PROBE_SCHEDULE}"
    manifest = os.path.join(out, "manifest.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            if json.load(f).get("schedule") == spec:
                return out
    subprocess.run([pmpd_compile, os.fspath(model_dir), "-o", os.fspath(out),
                    "--schedule", spec], check=True)
    return out


def tokenize(model: pmpd.Model, path, max_docs=0, max_length=512,
             min_length=32) -> List[List[int]]:
    """Documents under the fixture protocol (as Model.perplexity reads them)."""
    texts = pmpd.read_documents(path)
    if max_docs > 0:
        texts = texts[:max_docs]
    docs = [model.tokenizer.encode(t)[:max_length] for t in texts]
    return [d for d in docs if len(d) >= min_length]


def search(evaluator: Evaluator, budget: float, prefill_bits: Sequence[int],
           thresholds: Sequence[int], log=lambda *_: None):
    """The feasible schedule of the fewest average decode bits, uniform
    4-bit's quality, and every schedule measured."""
    measured: Dict[Schedule, Quality] = {}

    def measure(schedule):
        if schedule not in measured:
            measured[schedule] = evaluator.evaluate(schedule)
            q = measured[schedule]
            log(f"{q.schedule:40s} bits {q.average_decode_bits:.3f} "
                f"kl {q.kl:.5f} ppl {q.ppl:.3f}")
        return measured[schedule]

    base = measure(uniform(4))
    limit = base.kl * (1 + budget)
    grid = sorted(set(thresholds)) + [NEVER]
    best = None
    for prefill in prefill_bits:
        for i, to3 in enumerate(grid):
            # The 2-bit switch: the earliest feasible one at or after `to3`.
            lo, hi = i, len(grid) - 1
            if measure(Schedule(prefill, to3, grid[hi])).kl > limit:
                continue  # Not feasible even without 2 bits.
            while lo < hi:
                mid = (lo + hi) // 2
                if measure(Schedule(prefill, to3, grid[mid])).kl <= limit:
                    hi = mid
                else:
                    lo = mid + 1
            candidate = Schedule(prefill, to3, grid[lo])
            key = (evaluator.average_bits(candidate), prefill)
            if best is None or key < best[0]:
                best = (key, candidate)
    return (best[1] if best else None), base, limit, measured


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="pmpd-tune", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="the any-precision model directory "
                        "(pmpd-quantize's output)")
    parser.add_argument("--fp16", required=True,
                        help="the fp16 artifact of the same model")
    parser.add_argument("--docs", required=True,
                        help=".jsonl(.xz) documents (docs-val)")
    parser.add_argument("--budget", type=float, default=0.25,
                        help="KL may exceed uniform 4-bit's by this fraction "
                        "(default 0.25)")
    parser.add_argument("--prefill-bits", default="4",
                        help="prefill precisions to search (default 4)")
    parser.add_argument("--thresholds", default="0,32,64,96,128,192,256",
                        help="candidate switch steps (default "
                        "0,32,64,96,128,192,256; 'never' is always one)")
    parser.add_argument("--max-docs", type=int, default=0,
                        help="only the first N documents (0: all)")
    parser.add_argument("--ppl-prefill", type=int, default=128,
                        help="positions of each document run as prefill")
    parser.add_argument("--work", help="where the probe artifacts are kept "
                        "(default: a temporary directory)")
    parser.add_argument("--pmpd-compile", default=shutil.which("pmpd-compile"),
                        help="the compiler (default: pmpd-compile on PATH)")
    parser.add_argument("--json", help="write every measured schedule here")
    args = parser.parse_args(argv)
    try:
        prefill_bits = [int(b) for b in args.prefill_bits.split(",")]
        thresholds = [int(t) for t in args.thresholds.split(",")]
    except ValueError as error:
        parser.error(f"not a list of integers: {error}")
    if args.budget < 0 or any(b not in (2, 3, 4) for b in prefill_bits) or \
            any(t < 0 for t in thresholds):
        parser.error("--budget must be >= 0, --prefill-bits among 2,3,4 and "
                     "--thresholds >= 0")
    if not args.pmpd_compile:
        parser.error("pmpd-compile is not on PATH: pass --pmpd-compile")
    work = args.work or tempfile.mkdtemp(prefix="pmpd-tune-")
    try:
        fp16 = pmpd.load(args.fp16)
        probes = {p: pmpd.load(compile_probe(args.pmpd_compile, args.model, p,
                                             os.path.join(work, f"probe{p}")))
                  for p in sorted(set(prefill_bits) | {4})}
        docs = tokenize(fp16, args.docs, args.max_docs)
    except (pmpd.PMPDError, OSError, subprocess.CalledProcessError) as error:
        print(f"pmpd-tune: error: {error}", file=sys.stderr)
        return 1
    evaluator = Evaluator(probes, fp16, docs, args.ppl_prefill)
    log = lambda line: print(line, file=sys.stderr, flush=True)
    best, base, limit, measured = search(evaluator, args.budget, prefill_bits,
                                         thresholds, log)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"budget": args.budget, "kl_limit": limit,
                       "uniform4": asdict(base),
                       "best": best.spec() if best else None,
                       "measured": [asdict(q) for q in measured.values()]},
                      f, indent=2)
    if best is None:
        print(f"pmpd-tune: error: no schedule is within KL {limit:.5f}",
              file=sys.stderr)
        return 1
    q = measured.get(best) or evaluator.evaluate(best)
    log(f"uniform 4-bit: KL {base.kl:.5f}; limit {limit:.5f}; chosen: "
        f"{q.average_decode_bits:.3f} bits, KL {q.kl:.5f}, ppl {q.ppl:.3f}")
    print(best.spec())
    return 0


if __name__ == "__main__":
    sys.exit(main())
