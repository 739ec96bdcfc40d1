#!/usr/bin/env python3
"""Checks a model directory pmpd-synth wrote, with Python's safetensors: the
tensors are exactly those a transformers model of config.json has (names,
fp16, shapes computed here from the config), norms are 1, biases 0, and the
other weights look like normal(0, 0.02). Sharded directories are read
through their index.

usage: check_synth.py MODEL_DIR
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file


def expected_shapes(c):
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    d = c.get("head_dim") or h // c["num_attention_heads"]
    q = c["num_attention_heads"] * d
    kv = c.get("num_key_value_heads", c["num_attention_heads"]) * d
    shapes = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    if not c.get("tie_word_embeddings", False):
        shapes["lm_head.weight"] = (v, h)
    for n in range(c["num_hidden_layers"]):
        p = f"model.layers.{n}."
        shapes[p + "input_layernorm.weight"] = (h,)
        shapes[p + "post_attention_layernorm.weight"] = (h,)
        shapes[p + "self_attn.q_proj.weight"] = (q, h)
        shapes[p + "self_attn.k_proj.weight"] = (kv, h)
        shapes[p + "self_attn.v_proj.weight"] = (kv, h)
        shapes[p + "self_attn.o_proj.weight"] = (h, q)
        shapes[p + "mlp.gate_proj.weight"] = (i, h)
        shapes[p + "mlp.up_proj.weight"] = (i, h)
        shapes[p + "mlp.down_proj.weight"] = (h, i)
        if c.get("attention_bias", False):
            for proj, rows in (("q", q), ("k", kv), ("v", kv)):
                shapes[p + f"self_attn.{proj}_proj.bias"] = (rows,)
    return shapes


def main():
    model = sys.argv[1]
    with open(os.path.join(model, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(model, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        for shard in sorted(set(weight_map.values())):
            part = load_file(os.path.join(model, shard))
            assert all(weight_map[n] == shard for n in part), shard
            tensors.update(part)
        assert set(weight_map) == set(tensors)
        print(f"shards: {len(set(weight_map.values()))}")
    else:
        tensors = load_file(os.path.join(model, "model.safetensors"))

    shapes = expected_shapes(config)
    assert set(tensors) == set(shapes), set(tensors) ^ set(shapes)
    params = 0
    for name, a in tensors.items():
        assert a.dtype == np.float16, (name, a.dtype)
        assert a.shape == shapes[name], (name, a.shape, shapes[name])
        params += a.size
        x = a.astype(np.float64)
        if name.endswith("norm.weight"):
            assert (x == 1).all(), name
        elif name.endswith(".bias"):
            assert (x == 0).all(), name
        else:
            assert abs(x.mean()) < 1e-3, (name, x.mean())
            assert abs(x.std() - 0.02) < 1e-3, (name, x.std())
            assert np.abs(x).max() < 0.08, (name, np.abs(x).max())
    print(f"{config['architectures'][0]} layers={config['num_hidden_layers']}"
          f" tensors={len(tensors)} parameters={params}")


if __name__ == "__main__":
    main()
