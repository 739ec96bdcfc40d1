"""Writes a variant of an HF model directory whose perplexity a known model
pins down, to exercise eval_ppl.py's tied-embedding and q/k/v-bias paths:
  tied:      lm_head dropped, embed_tokens replaced by lm_head, tied config.
  untied:    the same weights as `tied`, stored untied.
  qwen2:     Qwen2ForCausalLM with all-zero q/k/v biases (equals the source).
  make_variant.py SRC_DIR DST_DIR KIND"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

src, dst, kind = sys.argv[1:4]
os.makedirs(dst, exist_ok=True)
with open(os.path.join(src, "config.json")) as f:
    cfg = json.load(f)
w = load_file(os.path.join(src, "model.safetensors"))
if kind in ("tied", "untied"):
    w["model.embed_tokens.weight"] = w["lm_head.weight"]
    if kind == "tied":
        del w["lm_head.weight"]
        cfg["tie_word_embeddings"] = True
elif kind == "qwen2":
    cfg["architectures"] = ["Qwen2ForCausalLM"]
    cfg["model_type"] = "qwen2"
    cfg.pop("attention_bias", None)
    for i in range(cfg["num_hidden_layers"]):
        for p in ("q", "k", "v"):
            rows = w[f"model.layers.{i}.self_attn.{p}_proj.weight"].shape[0]
            w[f"model.layers.{i}.self_attn.{p}_proj.bias"] = np.zeros(
                rows, dtype=np.float16)
else:
    sys.exit(f"unknown kind {kind}")
save_file(w, os.path.join(dst, "model.safetensors"))
with open(os.path.join(dst, "config.json"), "w") as f:
    json.dump(cfg, f)
