#!/usr/bin/env python3
"""A LLaMA model directory (fp16 safetensors, tokenizer.json) as an F16 GGUF,
for scripts/bench-llamacpp.sh.

llama.cpp's own convert_hf_to_gguf.py imports torch, which this machine kind
cannot install (download.pytorch.org does not resolve; PyPI's torch pulls the
CUDA libraries). This writes what that script writes for a plain LLaMA with a
byte-level BPE tokenizer, with the gguf package vendored in the same sdist:
the same tensor names and types (2-D weights f16, norms f32), the same
rotary permutation of q_proj and k_proj, the hyperparameters and the
tokenizer (model "gpt2", pre-tokenizer "default").

  bench-llamacpp-gguf.py MODEL_DIR OUT.gguf   (PYTHONPATH=<llama.cpp>/gguf-py)
"""

import json
import sys
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file


def permute(w, heads):
    """HF's rotate-half rows of q/k to llama.cpp's interleaved pairs."""
    return (w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench-llamacpp-gguf.py MODEL_DIR OUT.gguf")
    model, out = Path(sys.argv[1]), sys.argv[2]
    config = json.loads((model / "config.json").read_text())
    if config.get("model_type") != "llama":
        sys.exit(f"bench-llamacpp-gguf.py: {model}: model_type "
                 f"{config.get('model_type')!r}, expected 'llama'")
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    hidden = config["hidden_size"]
    head_dim = config.get("head_dim") or hidden // heads
    rope = config.get("rope_parameters") or {}
    theta = rope.get("rope_theta", config.get("rope_theta", 10000.0))

    w = gguf.GGUFWriter(out, "llama")
    w.add_name(model.name)
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(hidden)
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_rope_dimension_count(head_dim)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_freq_base(theta)
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    w.add_vocab_size(config["vocab_size"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

    tok = json.loads((model / "tokenizer.json").read_text())
    if tok["model"]["type"] != "BPE":
        sys.exit(f"bench-llamacpp-gguf.py: {model}: tokenizer "
                 f"{tok['model']['type']}, expected a byte-level BPE")
    vocab = dict(tok["model"]["vocab"])
    special = {a["content"]: a["id"] for a in tok.get("added_tokens", [])
               if a.get("special")}
    vocab.update(special)
    size = config["vocab_size"]
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [gguf.TokenType.UNUSED] * size
    for text, i in vocab.items():
        if i < size:
            tokens[i] = text
            types[i] = (gguf.TokenType.CONTROL if text in special
                        else gguf.TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m)
              for m in tok["model"].get("merges", [])]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    for key, add in (("bos_token_id", w.add_bos_token_id),
                     ("eos_token_id", w.add_eos_token_id)):
        if isinstance(config.get(key), int) and config[key] < size:
            add(config[key])

    tensors = {}
    for f in sorted(model.glob("*.safetensors")):
        tensors.update(load_file(f))
    names = {"model.embed_tokens.weight": "token_embd.weight",
             "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    per_layer = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q",
                 "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                 "self_attn.o_proj": "attn_output",
                 "post_attention_layernorm": "ffn_norm",
                 "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                 "mlp.down_proj": "ffn_down"}
    for name, t in tensors.items():
        if name in names:
            gname = names[name]
        else:
            parts = name.split(".")  # model.layers.N.<module>.weight
            if parts[:2] != ["model", "layers"] or parts[-1] != "weight":
                sys.exit(f"bench-llamacpp-gguf.py: unexpected tensor {name}")
            module = ".".join(parts[3:-1])
            if module not in per_layer:
                sys.exit(f"bench-llamacpp-gguf.py: unexpected tensor {name}")
            gname = f"blk.{parts[2]}.{per_layer[module]}.weight"
            if module == "self_attn.q_proj":
                t = permute(t, heads)
            elif module == "self_attn.k_proj":
                t = permute(t, kv)
        t = t.astype(np.float32 if t.ndim == 1 else np.float16)
        w.add_tensor(gname, t)
    # A tied model has no lm_head.weight: llama.cpp then reuses token_embd.

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
