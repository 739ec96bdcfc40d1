"""Schedule-aware perplexity: the fp16 artifact against the Hugging Face
reference value of the fixture, the PMPD artifact against pmpd-run."""
import json
import lzma

import pytest

import pmpd
from conftest import DOCS, run_json


def test_fp16_matches_independent_evaluator(fp16):
    # Every position as prefill: scripts/eval_ppl.py (numpy, from the
    # safetensors) gives 26.758771 over 1336 tokens on the first 3 documents
    # (test/e2e/perplexity.test).
    result = fp16.perplexity(DOCS, prefill=512, max_docs=3)
    assert (result.documents, result.tokens) == (3, 1336)
    assert result.ppl == pytest.approx(26.758771, abs=5e-4)
    assert result.decode_steps == 0 and result.average_decode_bits == 0
    assert result.kl is None and result.top1_agreement is None


def test_matches_pmpd_run(model, fp16, pmpd_artifact, fp16_artifact):
    result = model.perplexity(DOCS, prefill=128, max_docs=1, reference=fp16)
    run = run_json(pmpd_artifact, "--ppl", DOCS, "--max-docs", "1",
                   "--ppl-prefill", "128", "--kl-ref", fp16_artifact)
    assert result.documents == run["documents"] == 1
    assert result.tokens == run["tokens"] == 511
    assert result.decode_steps == run["decode_steps"] == 511 - 128
    # 2 steps at 4 bits and 2 at 3 bits, the rest at 2.
    assert result.average_decode_bits == pytest.approx(
        (8 + 6 + 379 * 2) / 383)
    for key in ["ppl", "kl", "top1_agreement", "max_relative_logit_error",
                "average_decode_bits"]:
        assert getattr(result, key) == pytest.approx(run[key], rel=1e-6), key
    assert 0 < result.kl and 0 < result.top1_agreement < 1


def test_documents_as_texts_or_ids(model):
    with lzma.open(DOCS, "rt") as f:
        texts = [json.loads(line)["text"] for line in f][:3]
    from_path = model.perplexity(DOCS, max_docs=3, prefill=500)
    from_texts = model.perplexity(texts, prefill=500)
    ids = [model.tokenizer.encode(t) for t in texts]
    from_ids = model.perplexity(ids, prefill=500)
    assert from_path == from_texts == from_ids
    assert from_path.decode_steps > 0
    # Cut to max_length ids, dropped under min_length.
    short = model.perplexity(ids, prefill=512, max_length=40, min_length=40)
    assert short.tokens == 39 * short.documents
    assert model.perplexity(ids, min_length=10**6).documents == 0


def test_bad_documents(model, fp16, tmp_path):
    with pytest.raises(pmpd.PMPDError, match="at least 2"):
        model.perplexity([[1]], min_length=1)
    with pytest.raises(pmpd.PMPDError, match="prefill positions"):
        model.perplexity([[1, 2, 3]], prefill=0, min_length=1)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"txt": "no text"}\n')
    with pytest.raises(pmpd.PMPDError, match=r"bad.jsonl:2: not a JSON object"):
        model.perplexity(bad)
    bad.write_text('{"text": 3}\n')
    with pytest.raises(pmpd.PMPDError, match=r"bad.jsonl:1: \"text\" is not"):
        model.perplexity(bad)
    with pytest.raises(FileNotFoundError):
        model.perplexity(tmp_path / "missing.jsonl")
    with pytest.raises(pmpd.PMPDError, match="outside the vocabulary"):
        model.perplexity([[1, 9000, 3]], min_length=1)
