#!/usr/bin/env python3
"""Perplexity of a Hugging Face LLaMA-family model directory, in fp32 numpy.

An evaluator that shares no code with pmpd's C++: it reads config.json and
model.safetensors with the `safetensors` package, tokenizes with the
`tokenizers` package, and runs the decoder in numpy. Quantized models that pmpd
exports as ordinary HF directories are scored with it, so that a bug in pmpd's
own reference cannot hide a bug in its quantizer.

Protocol (fixtures/README.md): for each document in order, ids = encode(text)
(BOS included) truncated to --max-len ids; documents with fewer than
--min-len ids are skipped; the next-token negative log-likelihood is summed
over positions 1..n-1 with the whole prefix as context; ppl = exp(total NLL /
predicted tokens).

  scripts/eval_ppl.py MODEL_DIR [--docs FILE] [--max-docs N] [--max-len 512]
                      [--ids-json FILE] [--json]
"""
import argparse
import json
import lzma
import math
import os
import sys
import time


class EvalError(Exception):
    pass


def _import(module):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise EvalError(f"the Python package '{module.split('.')[0]}' is needed "
                        f"(pip install numpy safetensors tokenizers)")


def load_config(model_dir):
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except OSError as e:
        raise EvalError(f"{path}: cannot read: {e.strerror}")
    except json.JSONDecodeError as e:
        raise EvalError(f"{path}: malformed JSON: {e}")
    if not isinstance(cfg, dict):
        raise EvalError(f"{path}: not a JSON object")
    archs = cfg.get("architectures") or []
    supported = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"}
    if not archs or archs[0] not in supported:
        raise EvalError(f"{path}: unsupported architecture {archs!r} "
                        f"(expected one of {sorted(supported)})")
    act = cfg.get("hidden_act", "silu")
    if act != "silu":
        raise EvalError(f"{path}: unsupported hidden_act '{act}'")
    if cfg.get("mlp_bias"):
        raise EvalError(f"{path}: mlp_bias true is not supported")
    if cfg.get("attention_bias") and archs[0] != "Qwen2ForCausalLM":
        raise EvalError(f"{path}: attention_bias true is only supported for "
                        f"Qwen2 (LLaMA and Mistral add an o_proj bias)")
    windowed = (archs[0] == "MistralForCausalLM" or
                cfg.get("use_sliding_window", False))
    if windowed and cfg.get("sliding_window") is not None:
        window = int(cfg["sliding_window"])
    else:
        window = None
    try:
        hidden = int(cfg["hidden_size"])
        heads = int(cfg["num_attention_heads"])
        c = {
            "hidden": hidden,
            "layers": int(cfg["num_hidden_layers"]),
            "heads": heads,
            "kv_heads": int(cfg.get("num_key_value_heads") or heads),
            "head_dim": int(cfg.get("head_dim") or hidden // heads),
            "eps": float(cfg.get("rms_norm_eps", 1e-6)),
            "tied": bool(cfg.get("tie_word_embeddings", False)),
            "bias": bool(cfg.get("attention_bias",
                                 archs[0] == "Qwen2ForCausalLM")),
        }
    except (KeyError, TypeError, ValueError) as e:
        raise EvalError(f"{path}: missing or malformed field: {e}")
    # transformers 5 nests RoPE parameters; older files have rope_theta.
    rope = cfg.get("rope_parameters") or {}
    theta = rope.get("rope_theta", cfg.get("rope_theta", 10000.0))
    rope_type = rope.get("rope_type", (cfg.get("rope_scaling") or {}).get(
        "rope_type", "default"))
    if rope_type != "default":
        raise EvalError(f"{path}: unsupported rope_type '{rope_type}'")
    c["theta"] = float(theta)
    c["window"] = window
    return c


def load_weights(model_dir, cfg):
    np = _import("numpy")
    st = _import("safetensors.numpy")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        path = os.path.join(model_dir, name)
        if not os.path.exists(path):
            raise EvalError(f"{path}: no such file")
        try:
            tensors.update(st.load_file(path))
        except Exception as e:  # safetensors raises its own error types.
            raise EvalError(f"{path}: cannot read: {e}")

    def get(name):
        if name not in tensors:
            raise EvalError(f"{model_dir}: missing tensor '{name}'")
        return np.ascontiguousarray(tensors[name], dtype=np.float32)

    w = {"embed": get("model.embed_tokens.weight"),
         "norm": get("model.norm.weight"), "layers": []}
    w["lm_head"] = w["embed"] if cfg["tied"] else get("lm_head.weight")
    for i in range(cfg["layers"]):
        p = f"model.layers.{i}."
        layer = {"in_norm": get(p + "input_layernorm.weight"),
                 "post_norm": get(p + "post_attention_layernorm.weight")}
        for proj in ("q", "k", "v", "o"):
            layer[proj] = get(p + f"self_attn.{proj}_proj.weight")
        for proj in ("gate", "up", "down"):
            layer[proj] = get(p + f"mlp.{proj}_proj.weight")
        for proj in ("q", "k", "v"):
            layer[proj + "_bias"] = (get(p + f"self_attn.{proj}_proj.bias")
                                     if cfg["bias"] else None)
        w["layers"].append(layer)
    return w


class Model:
    def __init__(self, model_dir):
        self.np = _import("numpy")
        self.cfg = load_config(model_dir)
        self.w = load_weights(model_dir, self.cfg)
        np, d = self.np, self.cfg["head_dim"]
        self.inv_freq = (1.0 / self.cfg["theta"] ** (
            np.arange(0, d, 2, dtype=np.float64) / d))

    def rmsnorm(self, x, weight):
        np = self.np
        var = np.mean(x * x, axis=-1, keepdims=True)
        return (x / np.sqrt(var + np.float32(self.cfg["eps"]))) * weight

    def logits(self, ids):
        """fp32 logits [T, vocab] of `ids` from position 0."""
        np, c = self.np, self.cfg
        t, d = len(ids), c["head_dim"]
        nh, nkv = c["heads"], c["kv_heads"]
        angles = np.outer(np.arange(t, dtype=np.float64), self.inv_freq)
        cos = np.cos(angles).astype(np.float32)  # [T, d/2]
        sin = np.sin(angles).astype(np.float32)

        def rope(x):  # [heads, T, d]; rotate_half pairs (i, i + d/2).
            x1, x2 = x[..., : d // 2], x[..., d // 2:]
            return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin],
                                  axis=-1)

        mask = np.triu(np.full((t, t), -np.inf, dtype=np.float32), k=1)
        x = self.w["embed"][np.asarray(ids)]
        for L in self.w["layers"]:
            h = self.rmsnorm(x, L["in_norm"])
            q, k, v = h @ L["q"].T, h @ L["k"].T, h @ L["v"].T
            if L["q_bias"] is not None:
                q, k, v = q + L["q_bias"], k + L["k_bias"], v + L["v_bias"]
            q = rope(q.reshape(t, nh, d).transpose(1, 0, 2))
            k = rope(k.reshape(t, nkv, d).transpose(1, 0, 2))
            v = v.reshape(t, nkv, d).transpose(1, 0, 2)
            rep = nh // nkv
            k, v = np.repeat(k, rep, axis=0), np.repeat(v, rep, axis=0)
            s = q @ k.transpose(0, 2, 1) * np.float32(1.0 / math.sqrt(d))
            s = s + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            p = s / s.sum(axis=-1, keepdims=True)
            o = (p @ v).transpose(1, 0, 2).reshape(t, nh * d)
            x = x + o @ L["o"].T
            h = self.rmsnorm(x, L["post_norm"])
            g = h @ L["gate"].T
            act = g / (1.0 + np.exp(-g)) * (h @ L["up"].T)
            x = x + act @ L["down"].T
        x = self.rmsnorm(x, self.w["norm"])
        return x @ self.w["lm_head"].T

    def nll(self, ids):
        """Sum of -log p(ids[t+1] | ids[..t]) over t in [0, n-2]."""
        np = self.np
        z = self.logits(ids[:-1]).astype(np.float64)
        m = z.max(axis=-1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))
        target = z[np.arange(len(ids) - 1), np.asarray(ids[1:])]
        return float(np.sum(lse - target))


def read_texts(path):
    try:
        if path.endswith(".xz"):
            raw = lzma.open(path, "rt", encoding="utf-8").read()
        else:
            with open(path, encoding="utf-8") as f:
                raw = f.read()
    except OSError as e:
        raise EvalError(f"{path}: cannot read: {e.strerror or e}")
    except EOFError:
        raise EvalError(f"{path}: truncated xz data")
    except lzma.LZMAError as e:
        raise EvalError(f"{path}: corrupt xz data: {e}")
    except UnicodeDecodeError as e:
        raise EvalError(f"{path}: not UTF-8: {e}")
    texts = []
    for n, line in enumerate(raw.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalError(f"{path}:{n}: malformed JSON: {e}")
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise EvalError(f"{path}:{n}: no string field 'text'")
        texts.append(obj["text"])
    return texts


def read_id_docs(path):
    """A JSON list of id lists, or an object whose "docs" entries have "ids"
    (the form of fixtures/refs/tokenizer-val.json)."""
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except OSError as e:
        raise EvalError(f"{path}: cannot read: {e.strerror}")
    except json.JSONDecodeError as e:
        raise EvalError(f"{path}: malformed JSON: {e}")
    if isinstance(obj, dict) and isinstance(obj.get("docs"), list):
        obj = [d.get("ids") if isinstance(d, dict) else None
               for d in obj["docs"]]
    if not isinstance(obj, list) or not all(
            isinstance(d, list) and all(isinstance(i, int) for i in d)
            for d in obj):
        raise EvalError(f"{path}: expected a list of id lists or "
                        f"{{\"docs\": [{{\"ids\": [...]}}, ...]}}")
    return obj


def evaluate(model, docs, max_len, min_len):
    vocab = model.w["embed"].shape[0]
    total, count, used = 0.0, 0, 0
    for n, ids in enumerate(docs):
        ids = ids[:max_len]
        if len(ids) < min_len:
            continue
        bad = [i for i in ids if not 0 <= i < vocab]
        if bad:
            raise EvalError(f"document {n}: token id {bad[0]} is outside the "
                            f"vocabulary (size {vocab})")
        total += model.nll(ids)
        count += len(ids) - 1
        used += 1
    return total, count, used


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    default_docs = os.path.join(here, "..", "fixtures", "docs-val.jsonl.xz")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="Hugging Face model directory")
    ap.add_argument("--docs", default=default_docs,
                    help="documents, .jsonl or .jsonl.xz with a 'text' field "
                         "(default: fixtures/docs-val.jsonl.xz)")
    ap.add_argument("--ids-json", metavar="FILE",
                    help="already-tokenized documents instead of --docs")
    ap.add_argument("--tokenizer",
                    help="tokenizer.json (default: MODEL/tokenizer.json)")
    ap.add_argument("--max-docs", type=int, default=None,
                    help="only the first N documents")
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--min-len", type=int, default=32)
    ap.add_argument("--json", action="store_true",
                    help="print one JSON object")
    args = ap.parse_args(argv)
    try:
        if args.max_len < 2 or args.min_len < 2:
            raise EvalError("--max-len and --min-len must be at least 2")
        if args.max_docs is not None and args.max_docs < 0:
            raise EvalError("--max-docs must not be negative")
        start = time.time()
        model = Model(args.model)
        window = model.cfg["window"]
        if window is not None and window < args.max_len:
            raise EvalError(f"{args.model}: sliding_window {window} is "
                            f"shorter than --max-len {args.max_len}; "
                            f"windowed attention is not implemented")
        if args.ids_json:
            docs = read_id_docs(args.ids_json)[: args.max_docs]
        else:
            tok_path = args.tokenizer or os.path.join(args.model,
                                                      "tokenizer.json")
            if not os.path.exists(tok_path):
                raise EvalError(f"{tok_path}: no such file")
            Tokenizer = _import("tokenizers").Tokenizer
            try:
                tok = Tokenizer.from_file(tok_path)
            except Exception as e:
                raise EvalError(f"{tok_path}: cannot load: {e}")
            texts = read_texts(args.docs)[: args.max_docs]
            docs = [tok.encode(t).ids for t in texts]
        total, count, used = evaluate(model, docs, args.max_len, args.min_len)
        if count == 0:
            raise EvalError("no document has at least "
                            f"{args.min_len} tokens")
    except EvalError as e:
        print(f"eval_ppl.py: error: {e}", file=sys.stderr)
        return 1
    ppl = math.exp(total / count)
    seconds = time.time() - start
    if args.json:
        print(json.dumps({"ppl": round(ppl, 6), "tokens": count, "docs": used,
                          "nll": total, "seconds": round(seconds, 2)}))
    else:
        print(f"ppl {ppl:.4f} over {count} tokens ({used} docs, "
              f"{seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
