#!/usr/bin/env python3
"""Compares pmpd-inspect --json output with what Python's safetensors reads
from the same file(s): the same tensor names, dtypes and shapes.

usage: compare_inspect.py INSPECT_JSON FILE.safetensors...
"""
import json
import math
import sys

from safetensors import safe_open

# safe_open's numpy dtype names -> safetensors format names.
NUMPY_TO_ST = {"float64": "F64", "float32": "F32", "float16": "F16",
               "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8",
               "uint64": "U64", "uint32": "U32", "uint16": "U16",
               "uint8": "U8", "bool": "BOOL"}


def main():
    with open(sys.argv[1]) as f:
        report = json.load(f)
    ours = {t["name"]: (t["dtype"], t["shape"]) for t in report["tensors"]}
    theirs = {}
    for path in sys.argv[2:]:
        with safe_open(path, framework="numpy") as st:
            for name in st.keys():
                a = st.get_tensor(name)
                theirs[name] = (NUMPY_TO_ST[str(a.dtype)], list(a.shape))
    if ours != theirs:
        for name in sorted(set(ours) | set(theirs)):
            if ours.get(name) != theirs.get(name):
                print(f"{name}: pmpd {ours.get(name)} python {theirs.get(name)}")
        sys.exit(1)
    params = sum(math.prod(shape) for _, shape in theirs.values())
    assert report["total_parameters"] == params, (report["total_parameters"], params)
    print(f"OK {len(ours)} tensors")


if __name__ == "__main__":
    main()
