#!/usr/bin/env python3
"""Checks pmpd-quantize --export-rtn against round-to-nearest written here in
numpy: asymmetric min/max per group of 128 inputs, an fp16 scale, an integer
zero point, codes clamped to [0, 2^b - 1], dequantized and stored as fp16.
Every other tensor must be the source's, unchanged.

  check_rtn.py SOURCE.safetensors EXPORT.safetensors BITS
"""
import sys

import numpy as np
from safetensors.numpy import load_file

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
               "down_proj")


def round_half_away(x):
    """std::round: halves round away from zero (numpy rounds them to even)."""
    return np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))


def rtn(w, bits, group=128):
    levels = float(2 ** bits - 1)
    rows, cols = w.shape
    g = w.reshape(rows, cols // group, group)
    lo, hi = g.min(axis=2, keepdims=True), g.max(axis=2, keepdims=True)
    scale = ((hi - lo) / np.float32(levels)).astype(np.float16).astype(np.float32)
    safe = np.where(scale > 0, scale, 1)
    zero = np.clip(round_half_away(-lo / safe), 0, levels)
    q = np.clip(round_half_away(g / safe) + zero, 0, levels)
    out = np.where(scale > 0, (q - zero) * scale, g)
    return out.reshape(rows, cols).astype(np.float16)


def main():
    source, export, bits = load_file(sys.argv[1]), load_file(sys.argv[2]), int(sys.argv[3])
    checked = 0
    for name, tensor in source.items():
        got = export[name]
        if name.endswith(".weight") and name.split(".")[-2] in PROJECTIONS:
            want = rtn(tensor.astype(np.float32), bits)
            differ = got != want
            if differ.any():
                sys.exit(f"{name}: {differ.sum()} of {got.size} weights differ")
            levels = np.unique(got.reshape(got.shape[0], -1, 128)[0, 0]).size
            if levels > 2 ** bits:
                sys.exit(f"{name}: {levels} levels in a group at {bits} bits")
            checked += 1
        elif not np.array_equal(got, tensor):
            sys.exit(f"{name}: changed by the export")
    print(f"checked {checked} projections: RTN g128 at {bits} bits")


if __name__ == "__main__":
    main()
