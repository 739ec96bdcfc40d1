#!/usr/bin/env python3
"""Measures the HVX projection kernels' work per tile from the compiled code.

Runs the kernels' harness (pmpd-hexagon-qlinear-check, the same qlinear.c the
artifacts link) under qemu-hexagon with one packet per translation block and
every executed block logged (-singlestep -d exec,nochain), so each log line
is one executed VLIW packet. Each packet's instructions come from
llvm-objdump of the harness, so the trace also gives the HVX instructions,
vlut16 lookups and vmpy multiplies executed. Problems of several sizes are
fitted exactly to the kernels' loop structure (least squares over integer
counts; the largest residual over the problems is reported):

  qlinear, decode (1 token, fused lookup and multiply), per bit width:
    count = c0 + x_pad * Kpad + x_col * K + row * N + block * N * B
  qlinear, prefill (T tokens, rows decoded once into a staging buffer and
  multiplied four tokens at a time), per bit width:
    count = c0 + x_pad * T*Kpad + x_col * T*K + row * N + block * N*B
            + tile4 * N*(T/4) + tile4_block * N*B*(T/4)
            + tile1 * N*(T%4) + tile1_block * N*B*(T%4)
  fp16 rows (the lm_head), with V = ceil(K/64) vectors of 64 columns:
    count = c0 + x_col * T*K + x_pad * T*V + row * N + vector * N*V
            + tile4 * N*(T/4) + tile4_vector * N*V*(T/4)
            + tile1 * N*(T%4) + tile1_vector * N*V*(T%4)

where K is the row length, B = ceil(K/1024) blocks of 1024 columns (128
bytes of each bit-plane), Kpad = 1024 B. The coefficients are what the cost
model (pmpd::NPUCostModel) charges per tile. Writes JSON to stdout:

  scripts/hexagon-kernel-profile.py build/runtime/hexagon/pmpd-hexagon-qlinear-check \
      > runtime/hexagon/kernel-profile.json
  scripts/hexagon-kernel-profile.py HARNESS --check runtime/hexagon/kernel-profile.json
"""

import argparse
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

METRICS = ("packets", "hvx", "vlut", "vmpy")
HVX = re.compile(r"\bv\d+\b|\bvmem\(|\bq\d\b|\bvtmp\b")


def objdump(harness):
    tool = shutil.which("llvm-objdump-22") or "/usr/lib/llvm-22/bin/llvm-objdump"
    text = subprocess.run([tool, "-d", "--no-show-raw-insn", harness],
                          check=True, capture_output=True, text=True).stdout
    packets, current, start = {}, None, None
    for line in text.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if not m:
            continue
        address, body = int(m.group(1), 16), m.group(2)
        if body.lstrip().startswith("{"):
            start, current = address, []
            body = body.lstrip()[1:]
        if current is None:
            continue
        end = body.rstrip().endswith("}") or body.rstrip().endswith(":endloop0") \
            or body.rstrip().endswith(":endloop1") or "} :endloop" in body
        insn = body.split("}")[0].strip()
        if insn:
            current.append(insn)
        if end:
            packets[start] = current
            current = None
    counts = {}
    for pc, insns in packets.items():
        hvx = [i for i in insns if HVX.search(i)]
        counts[pc] = (1, len(hvx), sum("vlut16" in i for i in hvx),
                      sum("vmpy" in i for i in hvx))
    return counts


def problem(tokens, cols, rows, bits, parent=8):
    rng = random.Random(tokens * 1000003 + cols * 101 + rows)
    row_bytes = (cols + 7) // 8
    data = struct.pack("<6q", tokens, cols, rows, parent, bits, 0)
    data += struct.pack("<%df" % (tokens * cols),
                        *[rng.uniform(-1, 1) for _ in range(tokens * cols)])
    if bits == 16:
        data += struct.pack("<%dH" % (rows * cols),
                            *[0x3000 + rng.randrange(0x1000) for _ in range(rows * cols)])
    else:
        data += rng.randbytes(parent * rows * row_bytes)
        data += struct.pack("<%dH" % (rows << bits),
                            *[0x3000 + rng.randrange(0x1000) for _ in range(rows << bits)])
    return data


def run(harness, packets, qemu, data, tmp):
    log = os.path.join(tmp, "exec.log")
    subprocess.run([qemu, "-singlestep", "-d", "exec,nochain", "-D", log, harness],
                   input=data, check=True, capture_output=True)
    total = np.zeros(len(METRICS))
    counts = {}
    with open(log) as f:
        for line in f:
            m = re.search(r"\[[0-9a-f]+/([0-9a-f]+)/", line)
            if m:
                pc = int(m.group(1), 16)
                counts[pc] = counts.get(pc, 0) + 1
    for pc, n in counts.items():
        if pc not in packets:
            sys.exit("packet at 0x%x not in the disassembly" % pc)
        total += n * np.array(packets[pc])
    return total


def features(kernel, tokens, cols, rows):
    blocks = -(-cols // 1024)
    if kernel == "decode":
        return [1, 1024 * blocks, cols, rows, rows * blocks]
    full, rest = tokens // 4, tokens % 4
    if kernel == "prefill":
        return [1, tokens * 1024 * blocks, tokens * cols, rows, rows * blocks,
                rows * full, rows * blocks * full, rows * rest, rows * blocks * rest]
    vectors = -(-cols // 64)
    return [1, tokens * cols, tokens * vectors, rows, rows * vectors,
            rows * full, rows * vectors * full, rows * rest, rows * vectors * rest]


NAMES = {
    "decode": ["c0", "x_pad", "x_col", "row", "block"],
    "prefill": ["c0", "x_pad", "x_col", "row", "block", "tile4", "tile4_block",
                "tile1", "tile1_block"],
    "f16": ["c0", "x_col", "x_pad", "row", "vector", "tile4", "tile4_vector",
            "tile1", "tile1_vector"],
}


def design(kernel):
    if kernel == "decode":
        return [(1, k, n) for k in (512, 1024, 1408, 2048, 3072) for n in (8, 16)]
    tokens = (2, 4, 5, 8) if kernel == "prefill" else (1, 2, 4, 5, 8)
    return [(t, k, n) for t in tokens for k in (512, 1024, 2048) for n in (8, 16)]


def fit(harness, packets, qemu, kernel, bits, tmp):
    rows, values = [], []
    for tokens, cols, n in design(kernel):
        rows.append(features(kernel, tokens, cols, n))
        values.append(run(harness, packets, qemu, problem(tokens, cols, n, bits), tmp))
    a, y = np.array(rows, float), np.array(values)
    coefficients, *_ = np.linalg.lstsq(a, y, rcond=None)
    residual = float(np.max(np.abs(a @ coefficients - y)))
    result = {name: {metric: round(float(c), 3) + 0.0
                     for metric, c in zip(METRICS, row)}
              for name, row in zip(NAMES[kernel], coefficients)}
    return result, round(residual, 3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("harness")
    parser.add_argument("--qemu", default=shutil.which("qemu-hexagon") or "qemu-hexagon")
    parser.add_argument("--bits", default="2,3,4,5,6,7,8")
    parser.add_argument("--check", help="a profile to compare with (exit 1 if "
                        "any coefficient of the measured kernels differs by "
                        "more than 1%% + 1)")
    args = parser.parse_args()
    packets = objdump(args.harness)
    profile = {"harness": "runtime/hexagon/qlinear.c under " + os.path.basename(args.qemu),
               "qlinear": {}}
    residuals = {}
    with tempfile.TemporaryDirectory() as tmp:
        for bits in [int(b) for b in args.bits.split(",") if b]:
            entry = profile["qlinear"][str(bits)] = {}
            for kernel in ("decode", "prefill"):
                entry[kernel], residual = fit(args.harness, packets, args.qemu,
                                              kernel, bits, tmp)
                residuals["qlinear.%d.%s" % (bits, kernel)] = residual
        profile["f16"], residuals["f16"] = fit(args.harness, packets, args.qemu,
                                               "f16", 16, tmp)
    profile["max_residual"] = residuals
    if not args.check:
        json.dump(profile, sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    expected = json.load(open(args.check))
    bad = []

    def compare(path, got, want):
        for name, counts in got.items():
            for metric, value in counts.items():
                ref = want[name][metric]
                if abs(value - ref) > 0.01 * abs(ref) + 1:
                    bad.append("%s.%s.%s: measured %g, profile %g" %
                               (path, metric, name, value, ref))
    for bits, kernels in profile["qlinear"].items():
        for kernel, got in kernels.items():
            compare("qlinear.%s.%s" % (bits, kernel), got,
                    expected["qlinear"][bits][kernel])
    compare("f16", profile["f16"], expected["f16"])
    print("\n".join(bad) if bad else "the kernel profile matches the compiled kernels")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
