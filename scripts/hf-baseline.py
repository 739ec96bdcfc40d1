#!/usr/bin/env python3
"""Hugging Face transformers' speed on a model shape, for pmpd-bench's ratios.

Random fp16 weights in the shape of a pmpd-synth model (config.json of any
LLaMA-family model directory, no weights needed), batch 1, greedy decoding with
a static KV cache and torch.compile (mode "reduce-overhead": CUDA graphs), the
fastest configuration transformers offers for this case. Prints one JSON object
(llama-bench-like: pp tok/s, tg tok/s) and a line of text on stderr.

    scripts/hf-baseline.py CONFIG_JSON [-p 512] [-n 128] [-r 3] [--eager]
"""

import argparse
import json
import statistics
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config.json of the model shape")
    parser.add_argument("-p", type=int, default=512, help="prompt tokens")
    parser.add_argument("-n", type=int, default=128, help="decoded tokens")
    parser.add_argument("-r", type=int, default=3, help="timed repetitions")
    parser.add_argument("--eager", action="store_true",
                        help="no torch.compile, dynamic cache")
    args = parser.parse_args()

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if not torch.cuda.is_available():
        sys.exit("hf-baseline: error: no CUDA device")
    with open(args.config) as f:
        config = LlamaConfig(**json.load(f))
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config).to(torch.float16).eval()
    if not args.eager:
        model.generation_config.cache_implementation = "static"
        model.forward = torch.compile(model.forward, mode="reduce-overhead",
                                      fullgraph=True)
    prompt = torch.randint(3, config.vocab_size, (1, args.p), device="cuda")

    def run(new_tokens):
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = model.generate(prompt, max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=0)
        torch.cuda.synchronize()
        assert out.shape[1] == args.p + new_tokens
        return time.perf_counter() - start

    with torch.inference_mode():
        for _ in range(2):  # compilation and CUDA graph capture
            run(1)
            run(args.n)
        prefill = [run(1) for _ in range(args.r)]
        total = [run(args.n) for _ in range(args.r)]
    prefill_s = statistics.median(prefill)
    decode_s = statistics.median(total) - prefill_s
    result = {
        "framework": "transformers " + __import__("transformers").__version__
                     + ", torch " + torch.__version__,
        "mode": "eager" if args.eager else "static cache + torch.compile",
        "device": torch.cuda.get_device_name(),
        "prompt_tokens": args.p,
        "decoded_tokens": args.n,
        "pp_tok_per_s": args.p / prefill_s,
        "tg_tok_per_s": (args.n - 1) / decode_s,
    }
    print(json.dumps(result))
    print(f"hf-baseline: {result['mode']}: pp{args.p} "
          f"{result['pp_tok_per_s']:.0f} tok/s, tg{args.n} "
          f"{result['tg_tok_per_s']:.1f} tok/s", file=sys.stderr)


if __name__ == "__main__":
    main()
