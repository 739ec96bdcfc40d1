#!/usr/bin/env python3
"""Writes a small model directory for pmpd-compile's import tests with
Python's safetensors (a writer independent of pmpd's): fp16, or with every
projection stored in the any-precision packed form (u8 bit-planes
[parent, rows, ceil(cols / 8)] and f16 lookup tables [rows, 2^b] for b from
seed to parent, file metadata pmpd.format / pmpd.seed_bits /
pmpd.parent_bits), optionally broken in one way.

usage: make_packed_model.py OUT_DIR KIND [--arch llama|qwen2] [--tied]
  KIND: packed | fp16 | mixed | missing | no-config | bad-format |
        bad-bits | seed-above-parent | no-seed | bad-planes | missing-lut |
        planes-dtype
"""
import argparse
import json
import os

import numpy as np
from safetensors.numpy import save_file

HIDDEN, INTER, LAYERS, HEADS, KV, VOCAB, HEAD_DIM = 32, 44, 2, 4, 2, 64, 8
PARENT, SEED = 4, 2
PROJECTIONS = {
    "self_attn.q_proj": (HEADS * HEAD_DIM, HIDDEN),
    "self_attn.k_proj": (KV * HEAD_DIM, HIDDEN),
    "self_attn.v_proj": (KV * HEAD_DIM, HIDDEN),
    "self_attn.o_proj": (HIDDEN, HEADS * HEAD_DIM),
    "mlp.gate_proj": (INTER, HIDDEN),
    "mlp.up_proj": (INTER, HIDDEN),
    # 44 columns: the planes' last dimension rounds up to 6 bytes.
    "mlp.down_proj": (HIDDEN, INTER),
}


def config(arch, tied):
    names = {"llama": ("LlamaForCausalLM", "llama"),
             "qwen2": ("Qwen2ForCausalLM", "qwen2")}
    return {
        "architectures": [names[arch][0]],
        "model_type": names[arch][1],
        "hidden_size": HIDDEN,
        "intermediate_size": INTER,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV,
        "head_dim": HEAD_DIM,
        "vocab_size": VOCAB,
        "max_position_embeddings": 128,
        "rms_norm_eps": 1e-6,
        "rope_theta": 500000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": tied,
    }


def packed(rng, rows, cols, parent=PARENT, seed=SEED):
    out = {"qweight.planes": rng.integers(
        0, 256, (parent, rows, (cols + 7) // 8), dtype=np.uint8)}
    for b in range(seed, parent + 1):
        out["qweight.lut%d" % b] = rng.standard_normal(
            (rows, 1 << b)).astype(np.float16)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("kind")
    p.add_argument("--arch", default="llama", choices=["llama", "qwen2"])
    p.add_argument("--tied", action="store_true")
    a = p.parse_args()
    rng = np.random.default_rng(0)
    half = lambda *s: (rng.standard_normal(s) * 0.02).astype(np.float16)

    ts = {"model.embed_tokens.weight": half(VOCAB, HIDDEN),
          "model.norm.weight": half(HIDDEN)}
    if not a.tied:
        ts["lm_head.weight"] = half(VOCAB, HIDDEN)
    for i in range(LAYERS):
        pre = "model.layers.%d." % i
        ts[pre + "input_layernorm.weight"] = half(HIDDEN)
        ts[pre + "post_attention_layernorm.weight"] = half(HIDDEN)
        for name, (rows, cols) in PROJECTIONS.items():
            if a.arch == "qwen2" and name.split(".")[1] in ("q_proj", "k_proj",
                                                            "v_proj"):
                ts[pre + name + ".bias"] = half(rows)
            if a.kind in ("fp16", "fp16-packed-head"):
                ts[pre + name + ".weight"] = half(rows, cols)
            else:
                for suffix, t in packed(rng, rows, cols).items():
                    ts[pre + name + "." + suffix] = t

    meta = {"pmpd.format": "any-precision", "pmpd.seed_bits": str(SEED),
            "pmpd.parent_bits": str(PARENT)}
    q1 = "model.layers.1.self_attn.k_proj."
    if a.kind == "mixed":
        for k in [k for k in ts if k.startswith(q1 + "qweight")]:
            del ts[k]
        ts[q1 + "weight"] = half(KV * HEAD_DIM, HIDDEN)
    elif a.kind == "missing":
        for k in [k for k in ts if k.startswith("model.layers.1.mlp.up_proj.")]:
            del ts[k]
    elif a.kind == "bad-format":
        meta["pmpd.format"] = "gptq"
    elif a.kind == "bad-bits":
        meta["pmpd.parent_bits"] = "four"
    elif a.kind == "seed-above-parent":
        meta["pmpd.seed_bits"] = "5"
    elif a.kind == "no-seed":
        del meta["pmpd.seed_bits"]
    elif a.kind == "bad-planes":
        ts[q1 + "qweight.planes"] = ts[q1 + "qweight.planes"][:3]
    elif a.kind == "missing-lut":
        del ts[q1 + "qweight.lut3"]
    elif a.kind == "planes-dtype":
        ts[q1 + "qweight.planes"] = ts[q1 + "qweight.planes"].astype(np.int8)
    elif a.kind in ("packed-head", "fp16-packed-head"):
        del ts["lm_head.weight"]
        for suffix, t in packed(rng, VOCAB, HIDDEN).items():
            ts["lm_head." + suffix] = t
    elif a.kind == "no-head":
        del ts["lm_head.weight"]
    elif a.kind not in ("packed", "fp16", "no-config"):
        raise SystemExit("unknown kind " + a.kind)

    os.makedirs(a.out, exist_ok=True)
    if a.kind != "no-config":
        with open(os.path.join(a.out, "config.json"), "w") as f:
            json.dump(config(a.arch, a.tied), f, indent=2)
    save_file(ts, os.path.join(a.out, "model.safetensors"),
              metadata=None if a.kind == "fp16" else meta)


if __name__ == "__main__":
    main()
