"""Generation with statistics: fp16 greedy against Hugging Face's, the PMPD
artifact against pmpd-run (the same runtime through its CLI), and errors."""
import json

import pytest

import pmpd
from conftest import REFS, run_json

GREEDY = json.loads((REFS / "ref_greedy.json").read_text())


def test_fp16_greedy_matches_huggingface(fp16):
    identical = 0
    for prompt, expected in zip(GREEDY["prompts"], GREEDY["greedy_ids"]):
        out = fp16.generate(prompt, max_new_tokens=len(expected),
                            stop_at_eos=False)
        assert out.prompt_ids == prompt
        identical += out.ids == expected
    # As test/e2e/fp16-matches-huggingface.test: one fp16 near-tie may differ.
    assert identical >= 7


def same_as_pmpd_run(out, run):
    assert out.prompt_ids == run["prompt_ids"]
    assert out.ids == run["generated_ids"]
    assert out.text == run["text"]
    stats = run["stats"]
    assert out.stats.finish_reason == stats["finish_reason"]
    assert out.stats.switch_steps == stats["switch_steps"]
    assert out.stats.average_decode_bits == stats["average_decode_bits"]
    assert [(s.bits, s.first_step, s.tokens) for s in out.stats.segments] == \
        [(s["bits"], s["first_step"], s["tokens"])
         for s in stats["decode_segments"]]


def test_greedy_matches_pmpd_run(model, pmpd_artifact):
    out = model.generate("int main(void)", max_new_tokens=12,
                         stop_at_eos=False)
    same_as_pmpd_run(out, run_json(pmpd_artifact, "--prompt", "int main(void)",
                                   "-n", "12", "--ignore-eos"))
    # The schedule prefill=4;decode=4@0,3@2,2@4: 11 decode steps (the first
    # token comes from the prefill), 2 at 4 bits, 2 at 3, 7 at 2.
    stats = out.stats
    assert [(s.bits, s.first_step, s.tokens) for s in stats.segments] == \
        [(4, 0, 2), (3, 2, 2), (2, 4, 7)]
    assert stats.switch_steps == [2, 4]
    assert stats.average_decode_bits == pytest.approx((8 + 6 + 14) / 11)
    assert stats.prompt_tokens == len(out.prompt_ids) == 6
    assert stats.decode_tokens == 11 and stats.finish_reason == "length"
    assert stats.decode_tokens_per_second == pytest.approx(
        stats.decode_tokens / stats.decode_seconds)
    assert all(s.tokens_per_second > 0 for s in stats.segments)
    assert stats.prefill_tokens_per_second > 0


def test_sampling_matches_pmpd_run(model, pmpd_artifact):
    out = model.generate([1, 463, 2380], max_new_tokens=10, temperature=0.8,
                         top_p=0.9, seed=7, stop_at_eos=False)
    same_as_pmpd_run(out, run_json(
        pmpd_artifact, "--prompt-ids", "1,463,2380", "-n", "10",
        "--temperature", "0.8", "--top-p", "0.9", "--seed", "7",
        "--ignore-eos"))
    again = model.generate([1, 463, 2380], max_new_tokens=10, temperature=0.8,
                           top_p=0.9, seed=7, stop_at_eos=False)
    assert again.ids == out.ids


def test_stops_at_eos(model, pmpd_artifact):
    # A prompt the model ends at once: a document's last line, then EOS.
    prompt = [1, 2]
    out = model.generate(prompt, max_new_tokens=40)
    run = run_json(pmpd_artifact, "--prompt-ids", "1,2", "-n", "40")
    same_as_pmpd_run(out, run)
    if out.stats.finish_reason == "eos":
        assert out.ids[-1] == model.tokenizer.eos_id
    forced = model.generate(prompt, max_new_tokens=40, stop_at_eos=False)
    assert len(forced.ids) == 40 and forced.stats.finish_reason == "length"


def test_cache_full(model):
    prompt = [1] + [315] * (model.max_positions - 4)
    out = model.generate(prompt, max_new_tokens=10, stop_at_eos=False)
    assert out.stats.finish_reason == "cache_full"
    # Prefill filled all but 3 positions; the 3 decode steps fill them, and
    # their logits give 3 more tokens after the prefill's.
    assert len(out.ids) == 4 and out.stats.decode_tokens == 3


def test_bad_generation_options(model):
    for options in [dict(max_new_tokens=0), dict(temperature=-1.0),
                    dict(top_p=0.0), dict(top_p=1.5)]:
        with pytest.raises(pmpd.PMPDError, match="invalid options"):
            model.generate("x", **options)


def test_bad_prompts(model):
    with pytest.raises(pmpd.PMPDError, match="no tokens to run"):
        model.generate([])
    with pytest.raises(pmpd.PMPDError, match="outside the vocabulary"):
        model.generate([1, 8192])
    with pytest.raises(pmpd.PMPDError, match="KV cache holds 1024 positions"):
        model.generate([1] * 1025)
    with pytest.raises(TypeError, match="prompt must be"):
        model.generate([1.0, 2.0])
