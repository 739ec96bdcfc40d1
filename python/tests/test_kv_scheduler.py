"""PMPD's prompt-adaptive scheduler: the runtime's KV cache read-back and
rewind it is trained with, the numpy classifier and its training, and the
classifier compiled into an artifact (`decode=kv-cache:FILE`) deciding as
the Python one does on every validation prompt."""
import json
import math
import os
import random
import sys

import numpy as np
import pytest

import pmpd
from pmpd import kv_scheduler as ks
from conftest import DOCS, MODEL, ROOT, tool

sys.path.insert(0, str(ROOT / "scripts"))
import eval_ppl  # noqa: E402  (the numpy reference forward)

# The validation prompts: the report's documents (the first 32 of docs-val),
# cut at random lengths as the training data is.
VALIDATION_DOCS = 32


def test_kv_shape(fp16):
    assert fp16.kv_shape == (6, 4, 64)


def test_first_layer_matches_numpy(fp16):
    """Layer 0's cached keys (after RoPE) and values against numpy's."""
    ref = eval_ppl.Model(str(MODEL))
    ids = fp16.tokenizer.encode("def main():\n    return 0\n")
    fp16.reset()
    fp16.prefill(ids)
    keys, values = fp16.kv_cache(len(ids), layer=0)
    c, layer = ref.cfg, ref.w["layers"][0]
    d, t = c["head_dim"], len(ids)
    h = ref.rmsnorm(ref.w["embed"][np.asarray(ids)], layer["in_norm"])
    angles = np.outer(np.arange(t, dtype=np.float64), ref.inv_freq)
    cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(
        np.float32)
    k = (h @ layer["k"].T).reshape(t, c["kv_heads"], d)
    k1, k2 = k[..., :d // 2], k[..., d // 2:]
    k = np.concatenate([k1 * cos[:, None] - k2 * sin[:, None],
                        k2 * cos[:, None] + k1 * sin[:, None]], axis=-1)
    v = (h @ layer["v"].T).reshape(t, c["kv_heads"], d)
    np.testing.assert_allclose(keys, k, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(values, v, rtol=1e-3, atol=1e-3)


def test_decode_rows_and_rewind(fp16):
    """Rows a decode step writes match a prefill's; after a rewind the same
    steps give the same logits and rows, bit for bit."""
    ids = fp16.tokenizer.encode(open(ROOT / "README.md").read())[:40]
    fp16.reset()
    fp16.prefill(ids)
    whole = fp16.kv_cache(40, layer=-1)
    fp16.reset()
    fp16.prefill(ids[:30])
    logits = [fp16.decode(token, step)[0] for step, token in
              enumerate(ids[30:])]
    stepped = fp16.kv_cache(40)
    for a, b in zip(whole, stepped):
        np.testing.assert_allclose(a, b, atol=2e-3)
    assert fp16.rewind(34) == 34
    again = [fp16.decode(token, 4 + i)[0] for i, token in
             enumerate(ids[34:])]
    for a, b in zip(logits[4:], again):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(stepped, fp16.kv_cache(40)):
        np.testing.assert_array_equal(a, b)
    assert fp16.rewind(1000) == 40  # Nothing to forget past the end.


def test_kv_cache_errors(fp16):
    fp16.reset()
    fp16.prefill([1, 2, 3])
    with pytest.raises(pmpd.PMPDError,
                       match="cannot read 4 KV cache positions: 3 are cached"):
        fp16.kv_cache(4)
    with pytest.raises(pmpd.PMPDError,
                       match=r"KV cache layer 6 is outside \[0, 6\)"):
        fp16.kv_cache(3, layer=6)


def random_scheduler(seed, heads=4, head_dim=64, steps=(0, 2, 4), scale=1.0):
    """Untrained classifiers (PyTorch's initialization), their output layer
    scaled so that prompts differ in class."""
    rng = np.random.default_rng(seed)
    s = ks.KVCacheScheduler([4, 3, 2], list(steps), heads, head_dim)
    for high, low in ((4, 3), (3, 2)):
        c = ks.Classifier.initial(high, low, heads, head_dim, s.classes, rng)
        c.params["out_weight"] = c.params["out_weight"] * scale
        c.params = {k: v.astype(np.float32) for k, v in c.params.items()}
        s.classifiers.append(c)
    return s


def test_file_round_trip(tmp_path):
    s = random_scheduler(1, heads=2, head_dim=3)
    s.save(tmp_path / "kv.json")
    back = ks.KVCacheScheduler.load(tmp_path / "kv.json")
    assert (back.bits, back.switch_steps, back.heads, back.head_dim) == \
        ([4, 3, 2], [0, 2, 4], 2, 3)
    for a, b in zip(s.classifiers, back.classifiers):
        for name in a.params:
            np.testing.assert_array_equal(a.params[name], b.params[name])


def test_first_steps():
    s = random_scheduler(0)
    never = ks.NEVER
    assert s.first_steps_of([1, 0]) == [2, 2]  # 3 bits at 2, 2 bits too.
    assert s.first_steps_of([0, 2]) == [0, 4]
    assert s.first_steps_of([3, 0]) == [never, never]
    assert s.first_steps_of([2, 3]) == [4, never]
    assert [s.bits_at([2, 4], t) for t in range(6)] == [4, 4, 3, 3, 2, 2]


def test_gradients():
    """The hand-written backward pass against finite differences."""
    rng = np.random.default_rng(2)
    c = ks.Classifier.initial(4, 3, 2, 3, 4, rng)
    params = {n: np.asarray(p, float) for n, p in c.params.items()}
    samples = [(rng.normal(size=(t, 3)), rng.normal(size=(t, 3)))
               for t in (3, 5, 2)]
    k, v, mask = ks._pad(samples)
    labels = np.array([0, 2, 3])
    _, grads, logits = ks._loss_and_grads(params, k, v, mask, labels, 1e-5)
    for name, p in params.items():
        i = tuple(rng.integers(0, s) for s in p.shape)
        old = p[i]
        p[i] = old + 1e-6
        up = ks._loss_and_grads(params, k, v, mask, labels, 1e-5)[0]
        p[i] = old - 1e-6
        down = ks._loss_and_grads(params, k, v, mask, labels, 1e-5)[0]
        p[i] = old
        assert math.isclose((up - down) / 2e-6, grads[name][i],
                            rel_tol=1e-4, abs_tol=1e-8), name
    # The float32 inference path computes the training forward's logits.
    c.params = {n: p.astype(np.float32) for n, p in params.items()}
    for (kb, vb), row in zip(samples, logits):
        np.testing.assert_allclose(
            c.logits(kb.astype(np.float32), vb.astype(np.float32), 1e-5),
            row, rtol=1e-4, atol=1e-5)


def test_training_learns_a_separable_rule():
    """AdamW on a label the values decide: better than chance."""
    rng = np.random.default_rng(3)
    samples, labels = [], []
    for _ in range(96):
        label = int(rng.integers(0, 4))
        t = int(rng.integers(4, 12))
        k = rng.normal(size=(t, 4))
        v = rng.normal(size=(t, 4)) * 0.1
        v[:, label] += 1.0  # a direction LayerNorm keeps
        samples.append((k, v))
        labels.append(label)
    c = ks.train_classifier(samples, labels, 4, 3, heads=2, classes=4,
                            epochs=30)
    params = {n: p.astype(np.float64) for n, p in c.params.items()}
    accuracy = (ks.predict(params, samples) == np.asarray(labels)).mean()
    assert accuracy > 0.9


def validation_prompts(tokenizer, seed=0):
    """(document, prompt ids) from the first VALIDATION_DOCS documents."""
    rng = random.Random(seed)
    texts = pmpd.read_documents(DOCS)[:VALIDATION_DOCS]
    out = []
    for i, text in enumerate(texts):
        ids = tokenizer.encode(text)[:512]
        out.append((i, ids[:rng.randint(min(32, len(ids) // 2), len(ids))]))
    return out


def check_compiled_decisions(artifact, scheduler, prompts):
    """For each prompt, the precision of every decode step up to the last
    candidate switch equals what the Python classifiers decide; the
    classes the prompts got."""
    decisions = []
    last = max(scheduler.switch_steps) + 2
    for doc, prompt in prompts:
        artifact.reset()
        token = int(artifact.prefill(prompt).argmax())
        keys, values = artifact.kv_cache(len(prompt))
        classes = scheduler.decide(keys, values)
        first = scheduler.first_steps_of(classes)
        ran = []
        for step in range(last):
            logits, bits = artifact.decode(token, step)
            ran.append(bits)
            token = int(logits.argmax())
        want = [scheduler.bits_at(first, step) for step in range(last)]
        assert ran == want, (doc, len(prompt), classes, ran, want)
        decisions.append(tuple(classes))
    return decisions


@pytest.fixture(scope="module")
def kv_artifact(quantized, tmp_path_factory):
    path = tmp_path_factory.mktemp("kv")
    scheduler = random_scheduler(5, scale=40.0)
    scheduler.save(path / "kv.json")
    art = path / "art"
    tool("pmpd-compile", quantized, "-o", art, "--schedule",
         f"prefill=4;decode=kv-cache:{path / 'kv.json'}")
    with pmpd.load(art) as model:
        yield model, scheduler


def test_compiled_schedule(kv_artifact):
    model, scheduler = kv_artifact
    assert model.schedule == \
        "prefill=4;decode=4@0,3@0,2@0;learned=scheduler.json;kv-cache"
    # The artifact keeps its copy of the classifiers.
    copy = ks.KVCacheScheduler.load(os.path.join(model.path,
                                                 "scheduler.json"))
    assert copy.switch_steps == scheduler.switch_steps


def test_compiled_decisions_equal_python(kv_artifact):
    """The compiled classifiers decide as the Python ones on every
    validation prompt (and the prompts do not all get one class)."""
    model, scheduler = kv_artifact
    prompts = validation_prompts(model.tokenizer)
    decisions = check_compiled_decisions(model, scheduler, prompts)
    assert len(decisions) == VALIDATION_DOCS
    assert len(set(decisions)) > 1, decisions


def test_decision_once_per_generation(kv_artifact):
    """The classifiers run at the first decode step after each prefill and
    only then: generation's switch steps are the decided ones."""
    model, scheduler = kv_artifact
    for _, prompt in validation_prompts(model.tokenizer)[:6]:
        model.reset()
        model.prefill(prompt)
        first = scheduler.first_steps(*model.kv_cache(len(prompt)))
        out = model.generate(prompt, max_new_tokens=8, stop_at_eos=False)
        want = [int(s) for s in dict.fromkeys(first) if s != ks.NEVER
                and 0 < s < 7]
        got = [s for s in out.stats.switch_steps if s > 0]
        assert got == want, (first, out.stats.switch_steps)


@pytest.mark.skipif(not os.environ.get("PMPD_KV_SCHEDULER"),
                    reason="PMPD_KV_SCHEDULER names no trained scheduler")
def test_trained_decisions_equal_python(quantized, tmp_path):
    """The same with a trained file (scripts/train_kv_scheduler.py)."""
    path = os.environ["PMPD_KV_SCHEDULER"]
    scheduler = ks.KVCacheScheduler.load(path)
    small = scheduler.with_switch_steps([0, 2, 4])
    small.save(tmp_path / "kv.json")
    tool("pmpd-compile", quantized, "-o", tmp_path / "art", "--schedule",
         f"prefill=4;decode=kv-cache:{tmp_path / 'kv.json'}")
    with pmpd.load(tmp_path / "art") as model:
        check_compiled_decisions(model, small,
                                 validation_prompts(model.tokenizer))
