#!/usr/bin/env python3
"""Writes a .safetensors file with Python's safetensors: every dtype numpy
supports, odd shapes, and metadata.

usage: write_dtypes.py OUT
"""
import sys

import numpy as np
from safetensors.numpy import save_file


def main():
    rng = np.random.default_rng(1)
    t = {
        "f64": rng.standard_normal((3,)),
        "f32": rng.standard_normal((2, 3, 5)).astype(np.float32),
        "f16": (rng.standard_normal((4, 3)) * 100).astype(np.float16),
        "i64": np.arange(4, dtype=np.int64),
        "i32": np.arange(6, dtype=np.int32).reshape(2, 3),
        "i16": np.arange(5, dtype=np.int16),
        "i8": np.arange(-3, 4, dtype=np.int8),
        "u64": np.arange(2, dtype=np.uint64),
        "u32": np.arange(3, dtype=np.uint32),
        "u16": np.arange(9, dtype=np.uint16).reshape(3, 1, 3),
        "u8": np.arange(10, dtype=np.uint8),
        "mask": np.array([True, False, True]),
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float16),
    }
    save_file(t, sys.argv[1], metadata={"format": "pt", "origin": "python"})


if __name__ == "__main__":
    main()
