"""PMPD's prompt-adaptive scheduler (the `kv_cache` scheduler of
SamsungLabs/PMPD) in numpy: the classifier, its training and its file.

Once per generation, after the prompt is prefilled, one classifier per pair
of consecutive decode precisions reads the prompt's last-layer KV cache and
picks the decode step of that pair's switch out of `switch_steps`, or never.
`pmpd-compile --schedule 'prefill=4;decode=kv-cache:FILE'` compiles the same
classifiers into the artifact (include/pmpd/Dialect/PMPD/IR/KVCacheScheduler.h
has the file format); `KVCacheScheduler.first_steps` is what the compiled
code computes, operation for operation in float32.

The classifier, as PMPD's KVCacheClassifier (Q heads, D the head size):
keys and values averaged over the cache's heads; a learned query
[Q, Q, D] attends over the prompt's positions; the attended values averaged
over the second query axis and flattened d-major, [D * Q]; then LayerNorm ->
Linear -> ReLU -> Linear to one logit per class. Training is PMPD's: cross
entropy, AdamW (lr 4.5e-3, weight decay 0.08), 30 epochs; the dropout PMPD
puts on the attention weights is left out.
"""
import json
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

FORMAT = "pmpd-kv-cache-scheduler"
VERSION = 1
NEVER = math.inf  # The first step of a stage that never starts.

_PARAMS = ("query", "norm_weight", "norm_bias", "hidden_weight",
           "hidden_bias", "out_weight", "out_bias")


def head_means(keys: np.ndarray, values: np.ndarray):
    """Keys and values [T, heads, D] of one layer averaged over the heads."""
    return (keys.astype(np.float32).mean(axis=1, dtype=np.float32),
            values.astype(np.float32).mean(axis=1, dtype=np.float32))


@dataclass
class Classifier:
    """The classifier of the switch from `high` to `low` bits."""
    high: int
    low: int
    params: Dict[str, np.ndarray]

    @staticmethod
    def initial(high, low, heads, head_dim, classes, rng):
        """PyTorch's initialization: Xavier-normal query, uniform
        +-1/sqrt(fan_in) linears, identity LayerNorm."""
        n = heads * head_dim
        std = math.sqrt(2.0 / (heads * head_dim + heads * head_dim))
        bound = 1.0 / math.sqrt(n)

        def uniform(*shape):
            return rng.uniform(-bound, bound, shape)
        return Classifier(high, low, {
            "query": rng.normal(0.0, std, (heads, heads, head_dim)),
            "norm_weight": np.ones(n), "norm_bias": np.zeros(n),
            "hidden_weight": uniform(n, n), "hidden_bias": uniform(n),
            "out_weight": uniform(classes, n), "out_bias": uniform(classes)})

    def logits(self, k: np.ndarray, v: np.ndarray, eps: float) -> np.ndarray:
        """The class logits for one prompt's head-averaged keys and values
        [T, D], in float32 in the compiled code's order of operations."""
        f = np.float32
        p = {name: value.astype(f) for name, value in self.params.items()}
        q, _, d = p["query"].shape
        scores = np.einsum("ijd,td->ijt", p["query"], k, dtype=f)
        z = scores * f(1.0 / math.sqrt(d))
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        att = e / e.sum(axis=-1, keepdims=True, dtype=f)
        attended = np.einsum("ijt,td->ijd", att, v, dtype=f)
        x = (attended.sum(axis=1, dtype=f) / f(q)).T.reshape(-1)
        n = f(x.size)
        centered = x - x.sum(dtype=f) / n
        variance = (centered * centered).sum(dtype=f) / n
        normed = (centered / np.sqrt(variance + f(eps)) * p["norm_weight"] +
                  p["norm_bias"])
        hidden = np.maximum(p["hidden_weight"] @ normed + p["hidden_bias"],
                            f(0))
        return p["out_weight"] @ hidden + p["out_bias"]


@dataclass
class KVCacheScheduler:
    bits: List[int]
    switch_steps: List[int]
    heads: int
    head_dim: int
    classifiers: List[Classifier] = field(default_factory=list)
    norm_epsilon: float = 1e-5

    @property
    def classes(self) -> int:
        return len(self.switch_steps) + 1

    def decide(self, keys: np.ndarray, values: np.ndarray) -> List[int]:
        """Each classifier's class for a prompt's last-layer cache
        (keys, values [T, kv_heads, D]): the first largest logit."""
        k, v = head_means(keys, values)
        return [int(np.argmax(c.logits(k, v, self.norm_epsilon)))
                for c in self.classifiers]

    def step_of(self, label: int) -> float:
        """The switch step of a class (NEVER for the last)."""
        return (float(self.switch_steps[label])
                if label < len(self.switch_steps) else NEVER)

    def first_steps_of(self, labels: Sequence[int]) -> List[float]:
        """The first decode step of each stage after the first, for the
        classes of each switch: the latest switch chosen so far."""
        steps, latest = [], 0.0
        for label in labels:
            latest = max(latest, self.step_of(label))
            steps.append(latest)
        return steps

    def first_steps(self, keys, values) -> List[float]:
        """What the compiled decode entry computes after a prefill."""
        return self.first_steps_of(self.decide(keys, values))

    def bits_at(self, first_steps: Sequence[float], step: int) -> int:
        bits = self.bits[0]
        for stage_bits, first in zip(self.bits[1:], first_steps):
            if step >= first:
                bits = stage_bits
        return bits

    def schedule_spec(self, path, prefill: int = 4) -> str:
        return f"prefill={prefill};decode=kv-cache:{path}"

    def to_json(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "bits": list(self.bits),
            "switch_steps": list(self.switch_steps), "heads": self.heads,
            "head_dim": self.head_dim, "norm_epsilon": self.norm_epsilon,
            "classifiers": [
                dict({"high": c.high, "low": c.low},
                     **{name: [float(x) for x in np.asarray(
                         c.params[name], dtype=np.float32).reshape(-1)]
                        for name in _PARAMS})
                for c in self.classifiers]}

    def save(self, path):
        with open(path, "w") as f:
            json.dump(self.to_json(), f)

    def with_switch_steps(self, steps: Sequence[int]) -> "KVCacheScheduler":
        """The same classifiers choosing among other switch steps (e.g. the
        fractions 0, 1/3, 2/3 of a longer generation)."""
        if len(steps) != len(self.switch_steps):
            raise ValueError(f"{len(self.switch_steps)} switch steps needed")
        return KVCacheScheduler(list(self.bits), list(steps), self.heads,
                                self.head_dim, self.classifiers,
                                self.norm_epsilon)

    @staticmethod
    def load(path) -> "KVCacheScheduler":
        with open(path) as f:
            data = json.load(f)
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ValueError(f"{path}: not a {FORMAT} file of version "
                             f"{VERSION}")
        q, d = data["heads"], data["head_dim"]
        n = q * d
        classes = len(data["switch_steps"]) + 1
        shapes = {"query": (q, q, d), "norm_weight": (n,),
                  "norm_bias": (n,), "hidden_weight": (n, n),
                  "hidden_bias": (n,), "out_weight": (classes, n),
                  "out_bias": (classes,)}
        classifiers = [
            Classifier(c["high"], c["low"], {
                name: np.asarray(c[name], dtype=np.float32).reshape(shape)
                for name, shape in shapes.items()})
            for c in data["classifiers"]]
        return KVCacheScheduler(data["bits"], data["switch_steps"], q, d,
                                classifiers, data.get("norm_epsilon", 1e-5))


# Training: a batch of prompts, padded to the longest, by hand-written
# forward and backward passes in float64.

def _pad(samples):
    """[(k, v) [T, D]] -> k, v [B, Tmax, D] and the mask [B, Tmax]."""
    longest = max(k.shape[0] for k, _ in samples)
    d = samples[0][0].shape[1]
    k = np.zeros((len(samples), longest, d))
    v = np.zeros_like(k)
    mask = np.zeros((len(samples), longest), dtype=bool)
    for b, (kb, vb) in enumerate(samples):
        k[b, :len(kb)], v[b, :len(vb)], mask[b, :len(kb)] = kb, vb, True
    return k, v, mask


def _loss_and_grads(params, k, v, mask, labels, eps):
    query = params["query"]
    q, _, d = query.shape
    scale = 1.0 / math.sqrt(d)
    z = np.einsum("ijd,btd->bijt", query, k) * scale
    z = np.where(mask[:, None, None, :], z, -np.inf)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    att = e / e.sum(axis=-1, keepdims=True)
    attended = np.einsum("bijt,btd->bijd", att, v)
    x = attended.mean(axis=2).transpose(0, 2, 1).reshape(len(k), -1)
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv
    y = xhat * params["norm_weight"] + params["norm_bias"]
    h = y @ params["hidden_weight"].T + params["hidden_bias"]
    r = np.maximum(h, 0)
    logits = r @ params["out_weight"].T + params["out_bias"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    batch = len(labels)
    loss = -logp[np.arange(batch), labels].mean()

    g = {}
    dlogits = np.exp(logp)
    dlogits[np.arange(batch), labels] -= 1
    dlogits /= batch
    g["out_weight"] = dlogits.T @ r
    g["out_bias"] = dlogits.sum(axis=0)
    dh = (dlogits @ params["out_weight"]) * (h > 0)
    g["hidden_weight"] = dh.T @ y
    g["hidden_bias"] = dh.sum(axis=0)
    dy = dh @ params["hidden_weight"]
    g["norm_weight"] = (dy * xhat).sum(axis=0)
    g["norm_bias"] = dy.sum(axis=0)
    dxhat = dy * params["norm_weight"]
    dx = inv * (dxhat - dxhat.mean(axis=1, keepdims=True) -
                xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
    # x[b, d * Q + i] = mean_j attended[b, i, j, d]
    dattended = np.repeat(
        dx.reshape(len(k), d, q).transpose(0, 2, 1)[:, :, None, :] / q, q,
        axis=2)
    datt = np.einsum("bijd,btd->bijt", dattended, v)
    dz = att * (datt - (datt * att).sum(axis=-1, keepdims=True))
    g["query"] = np.einsum("bijt,btd->ijd", dz, k) * scale
    return loss, g, logits


def predict(params, samples, eps=1e-5, batch=64):
    out = []
    for i in range(0, len(samples), batch):
        k, v, mask = _pad(samples[i:i + batch])
        _, _, logits = _loss_and_grads(params, k, v, mask,
                                       np.zeros(len(k), dtype=int), eps)
        out.append(logits.argmax(axis=1))
    return np.concatenate(out) if out else np.zeros(0, dtype=int)


def train_classifier(samples, labels, high, low, heads, classes, *,
                     epochs=30, lr=4.5e-3, weight_decay=0.08, batch=32,
                     eps=1e-5, seed=0, log=None) -> Classifier:
    """AdamW on cross entropy over `samples` [(k, v) head-averaged, [T, D]]
    and their class `labels`."""
    rng = np.random.default_rng(seed)
    d = samples[0][0].shape[1]
    c = Classifier.initial(high, low, heads, d, classes, rng)
    params = {n: np.asarray(p, dtype=np.float64) for n, p in c.params.items()}
    m = {n: np.zeros_like(p) for n, p in params.items()}
    s = {n: np.zeros_like(p) for n, p in params.items()}
    labels = np.asarray(labels)
    beta1, beta2, t = 0.9, 0.999, 0
    for epoch in range(epochs):
        order = rng.permutation(len(samples))
        total = 0.0
        for start in range(0, len(order), batch):
            chosen = order[start:start + batch]
            k, v, mask = _pad([samples[i] for i in chosen])
            loss, grads, _ = _loss_and_grads(params, k, v, mask,
                                             labels[chosen], eps)
            total += loss * len(chosen)
            t += 1
            for n, p in params.items():
                p *= 1 - lr * weight_decay
                m[n] = beta1 * m[n] + (1 - beta1) * grads[n]
                s[n] = beta2 * s[n] + (1 - beta2) * grads[n] ** 2
                mhat = m[n] / (1 - beta1 ** t)
                shat = s[n] / (1 - beta2 ** t)
                p -= lr * mhat / (np.sqrt(shat) + 1e-8)
        if log:
            log(f"{high}->{low} epoch {epoch}: loss {total / len(order):.4f}")
    c.params = {n: p.astype(np.float32) for n, p in params.items()}
    return c
