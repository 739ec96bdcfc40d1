"""pmpd-tune: schedules, the probe evaluation against the compiled schedule's
own perplexity, and the search end to end."""
import json
import subprocess
import sys

import pytest

import pmpd
from conftest import BUILD, DOCS
from pmpd.tune import Evaluator, Schedule, stage_steps, tokenize, uniform


def test_schedule_strings():
    assert Schedule(4, 64, 128).spec() == "prefill=4;decode=4@0,3@64,2@128"
    assert Schedule(4, 0, 128).spec() == "prefill=4;decode=3@0,2@128"
    assert Schedule(4, None, 128).spec() == "prefill=4;decode=4@0,2@128"
    assert Schedule(4, 64, None).spec() == "prefill=4;decode=4@0,3@64"
    assert Schedule(3, 128, 64).spec() == "prefill=3;decode=4@0,2@64"
    assert Schedule(4, 0, 0).spec() == "prefill=4;decode=2@0"
    assert uniform(3).spec() == "prefill=3;decode=3@0"
    schedule = Schedule(4, 2, 5)
    assert [schedule.bits_at(s) for s in range(7)] == [4, 4, 3, 3, 3, 2, 2]


def test_probe_runs_what_the_compiled_schedule_runs(model, fp16):
    # The artifact of 4@0,3@2,2@4 as the probe of another schedule, and as
    # the probe of its own: the latter is what its compiled code runs.
    docs = tokenize(fp16, DOCS, max_docs=1)
    evaluator = Evaluator({4: model}, fp16, docs, prefill_positions=400)
    own = evaluator.evaluate(Schedule(4, 2, 4))
    compiled = model.perplexity(docs, prefill=400, reference=fp16)
    assert own.ppl == pytest.approx(compiled.ppl, rel=1e-9)
    # The reference's logits come from a prefill here, from decode steps
    # there: equal up to rounding.
    assert own.kl == pytest.approx(compiled.kl, rel=1e-4)
    assert own.top1_agreement == pytest.approx(compiled.top1_agreement,
                                               abs=2 / compiled.tokens)
    assert own.average_decode_bits == compiled.average_decode_bits
    assert own.decode_steps == compiled.decode_steps == 111
    # Switching later costs bits and gains quality; the average bits
    # follow from the thresholds alone.
    later = evaluator.evaluate(Schedule(4, 40, 80))
    assert later.average_decode_bits == evaluator.average_bits(
        Schedule(4, 40, 80)) == (40 * 4 + 40 * 3 + 31 * 2) / 111
    assert later.kl < own.kl
    # A document that ends where its prefill does: no decode step.
    short = [docs[0][:401]]
    none = Evaluator({4: model}, fp16, short, 400).evaluate(Schedule(4, 2, 4))
    assert none.decode_steps == 0 and none.average_decode_bits == 0
    assert none.ppl == pytest.approx(
        model.perplexity(short, prefill=400).ppl, rel=1e-9)
    with pytest.raises(pmpd.PMPDError, match="no stage of \\[3\\] bits"):
        Evaluator({3: fp16}, fp16, docs).evaluate(uniform(3))


def test_probe_needs_a_static_schedule(fp16):
    assert stage_steps(fp16) == {16: 0}


def tune(*args):
    return subprocess.run(
        [sys.executable, "-m", "pmpd.tune", *map(str, args),
         "--pmpd-compile", BUILD / "bin" / "pmpd-compile"],
        capture_output=True, text=True)


@pytest.fixture(scope="module")
def short_docs(tmp_path_factory):
    path = tmp_path_factory.mktemp("docs") / "docs.jsonl"
    texts = pmpd.read_documents(DOCS)[:2]
    path.write_text("".join(json.dumps({"text": t[:600]}) + "\n"
                            for t in texts))
    return path


def test_tune_end_to_end(quantized, fp16_artifact, short_docs, tmp_path):
    common = [quantized, "--fp16", fp16_artifact, "--docs", short_docs,
              "--ppl-prefill", "32", "--thresholds", "0,8,16",
              "--work", tmp_path]
    result = tune(*common, "--budget", "0.2", "--json", tmp_path / "t.json")
    assert result.returncode == 0, result.stderr
    chosen = result.stdout.strip()
    report = json.loads((tmp_path / "t.json").read_text())
    assert report["best"] == chosen
    limit = report["kl_limit"]
    assert limit == pytest.approx(report["uniform4"]["kl"] * 1.2)
    measured = {m["schedule"]: m for m in report["measured"]}
    assert measured[chosen]["kl"] <= limit
    # Nothing measured within the budget has fewer bits.
    assert all(m["average_decode_bits"] >=
               measured[chosen]["average_decode_bits"]
               for m in measured.values() if m["kl"] <= limit)
    # The probe is compiled once and kept; any budget allows 2 bits only.
    anything = tune(*common, "--budget", "1000")
    assert anything.returncode == 0, anything.stderr
    assert anything.stdout.strip() == "prefill=4;decode=2@0"


def test_tune_errors(quantized, fp16_artifact, short_docs, tmp_path):
    result = tune(quantized, "--fp16", fp16_artifact, "--docs", short_docs,
                  "--budget", "-1")
    assert result.returncode == 2 and "--budget must be >= 0" in result.stderr
    result = tune(quantized, "--fp16", fp16_artifact, "--docs", short_docs,
                  "--thresholds", "8,x")
    assert result.returncode == 2 and "not a list of integers" in result.stderr
    result = tune(quantized, "--fp16", tmp_path / "none", "--docs",
                  short_docs)
    assert result.returncode == 1
    assert "pmpd-tune: error:" in result.stderr and "manifest.json" in \
        result.stderr
