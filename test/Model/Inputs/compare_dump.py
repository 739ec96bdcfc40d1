#!/usr/bin/env python3
"""Compares pmpd-inspect --dump output (one fp32 value a line) with the
tensor as numpy reads it, element for element and exactly.

usage: compare_dump.py DUMP FILE.safetensors TENSOR
"""
import sys

import numpy as np
from safetensors import safe_open


def main():
    ours = np.loadtxt(sys.argv[1], dtype=np.float64, ndmin=1)
    with safe_open(sys.argv[2], framework="numpy") as st:
        ref = st.get_tensor(sys.argv[3]).astype(np.float32).reshape(-1)
    if ours.shape != ref.shape:
        sys.exit(f"count differs: {ours.shape} vs {ref.shape}")
    # %.9g round-trips fp32 exactly.
    bad = np.nonzero(ours.astype(np.float32) != ref)[0]
    if bad.size:
        i = bad[0]
        sys.exit(f"{bad.size} values differ, first at {i}: {ours[i]} vs {ref[i]}")
    print(f"OK {ref.size} values")


if __name__ == "__main__":
    main()
