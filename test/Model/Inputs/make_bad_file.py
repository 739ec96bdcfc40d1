#!/usr/bin/env python3
"""Writes a malformed .safetensors file for the lit tests of pmpd-inspect's
error messages. Byte layout: 8-byte little-endian header length, JSON header,
data.

usage: make_bad_file.py OUT KIND
"""
import json
import struct
import sys


def container(header, data_size, claimed=None):
    text = json.dumps(header).encode()
    length = len(text) if claimed is None else claimed
    return struct.pack("<Q", length) + text + b"\x00" * data_size


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def main():
    out, kind = sys.argv[1], sys.argv[2]
    ok = {"a": entry("F16", [2, 2], 0, 8)}
    if kind == "truncated":
        data = b"\x10\x00\x00"
    elif kind == "header-past-end":
        data = container(ok, 8, claimed=4096)
    elif kind == "header-not-json":
        text = b'{"a": {"dtype": "F16",'
        data = struct.pack("<Q", len(text)) + text
    elif kind == "overlap":
        data = container({"a": entry("F16", [2, 2], 0, 8),
                          "b": entry("F32", [2], 4, 12)}, 12)
    elif kind == "out-of-range":
        data = container({"a": entry("F16", [2, 2], 0, 8),
                          "b": entry("F32", [4], 8, 24)}, 16)
    elif kind == "unknown-dtype":
        data = container({"a": entry("F16", [2, 2], 0, 8),
                          "q": entry("Q4_K", [8], 8, 12)}, 12)
    elif kind == "size-mismatch":
        data = container({"a": entry("F32", [3, 2], 0, 8)}, 8)
    else:
        sys.exit("unknown kind " + kind)
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
