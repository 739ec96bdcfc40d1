#!/usr/bin/env python3
"""Writes a small LLaMA model directory with Python's safetensors (a writer
independent of pmpd's), optionally broken in one way, for the lit tests of
pmpd-inspect's error messages.

usage: make_model.py OUT_DIR [ok|missing-tensor|wrong-shape|bad-config-json|
                              unsupported-arch|missing-shard|no-projections]
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import save_file

HIDDEN, INTER, LAYERS, HEADS, KV, VOCAB = 16, 40, 2, 4, 2, 64
HEAD_DIM = HIDDEN // HEADS
PROJECTIONS = {
    "self_attn.q_proj": (HEADS * HEAD_DIM, HIDDEN),
    "self_attn.k_proj": (KV * HEAD_DIM, HIDDEN),
    "self_attn.v_proj": (KV * HEAD_DIM, HIDDEN),
    "self_attn.o_proj": (HIDDEN, HEADS * HEAD_DIM),
    "mlp.gate_proj": (INTER, HIDDEN),
    "mlp.up_proj": (INTER, HIDDEN),
    "mlp.down_proj": (HIDDEN, INTER),
}


def config():
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": HIDDEN,
        "intermediate_size": INTER,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV,
        "vocab_size": VOCAB,
        "max_position_embeddings": 64,
        "rms_norm_eps": 1e-5,
        "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
        "hidden_act": "silu",
        "tie_word_embeddings": False,
    }


def tensors():
    rng = np.random.default_rng(0)
    shapes = {"model.embed_tokens.weight": (VOCAB, HIDDEN),
              "model.norm.weight": (HIDDEN,),
              "lm_head.weight": (VOCAB, HIDDEN)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (HIDDEN,)
        shapes[p + "post_attention_layernorm.weight"] = (HIDDEN,)
        for name, shape in PROJECTIONS.items():
            shapes[p + name + ".weight"] = shape
    return {k: (rng.standard_normal(s) * 0.02).astype(np.float16)
            for k, s in shapes.items()}


def main():
    out, kind = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "ok")
    os.makedirs(out, exist_ok=True)
    cfg, ts = config(), tensors()
    if kind == "missing-tensor":
        del ts["model.layers.1.mlp.up_proj.weight"]
    elif kind == "wrong-shape":
        ts["model.layers.0.self_attn.k_proj.weight"] = np.zeros(
            (HIDDEN, HIDDEN), np.float16)
    elif kind == "unsupported-arch":
        cfg["architectures"] = ["GPT2LMHeadModel"]
    elif kind == "no-projections":
        for i in range(LAYERS):
            for name in PROJECTIONS:
                del ts[f"model.layers.{i}.{name}.weight"]
        ts["pmpd.packed.blob"] = np.zeros((7,), np.uint8)
    elif kind != "ok" and kind not in ("bad-config-json", "missing-shard"):
        sys.exit("unknown kind " + kind)

    with open(os.path.join(out, "config.json"), "w") as f:
        text = json.dumps(cfg, indent=2)
        if kind == "bad-config-json":
            text = text[: len(text) // 2]  # Cut off mid-object.
        f.write(text)

    if kind == "missing-shard":
        names = sorted(ts)
        half = len(names) // 2
        shards = {"model-00001-of-00002.safetensors": names[:half],
                  "model-00002-of-00002.safetensors": names[half:]}
        weight_map = {}
        for shard, members in shards.items():
            weight_map.update({n: shard for n in members})
        # Only the first shard is written.
        save_file({n: ts[n] for n in names[:half]},
                  os.path.join(out, "model-00001-of-00002.safetensors"))
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f)
    else:
        save_file(ts, os.path.join(out, "model.safetensors"),
                  metadata={"format": "pt"})


if __name__ == "__main__":
    main()
