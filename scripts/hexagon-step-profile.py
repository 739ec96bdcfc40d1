#!/usr/bin/env python3
"""Counts the VLIW packets a hexagon artifact executes per call, by function.

Runs `pmpd-run ART --prompt-ids 1..P -n 2` with the artifact's program under
qemu-hexagon with one packet per translation block and every executed block
logged (-singlestep -d exec,nochain, through a FIFO), and attributes each
executed packet to the function of the program holding it (llvm-nm). The
packets of the prefill (P tokens from position 0) and of the decode step that
follows (position P) are reported apart, grouped as:

  kernels   the HVX projection kernels (pmpd_qlinear_f32, multiplyTokens,
            pmpd_linear_f16_f32)
  compiled  the entry points' own code (the linalg loop nests: norms, RoPE,
            attention, softmax, SiLU)
  libm      expf, powf, sinf, cosf, logf, sqrt, fp16 conversion
  support   malloc, free, memcpy, memset, memrefCopy
  driver    the offload protocol (main, reading requests, replying logits)

which the NPU cost model's estimate of the same calls (pmpd-npu-cost --call)
can be set against: kernels against its HVX packets, compiled + libm against
its scalar cycles.

  scripts/hexagon-step-profile.py ART [--prompt 16] [--pmpd-run build/bin/pmpd-run]
"""

import argparse
import bisect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

GROUPS = {
    "kernels": {"pmpd_qlinear_f32", "multiplyTokens", "pmpd_linear_f16_f32"},
    "libm": {"expf", "logf", "powf", "sinf", "cosf", "__hexagon_sqrtf",
             "__extendhfsf2"},
    "support": {"malloc", "free", "memcpy", "memmove", "memset", "memrefCopy",
                "__hexagon_memcpy_likely_aligned_min32bytes_mult8bytes"},
}


def symbols(elf):
    nm = shutil.which("llvm-nm-22") or "/usr/lib/llvm-22/bin/llvm-nm"
    out = subprocess.run([nm, "-n", "--defined-only", elf], check=True,
                         capture_output=True, text=True).stdout
    table = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            table.append((int(parts[0], 16), parts[2]))
    return table


def group(name, entries):
    for g, names in GROUPS.items():
        if name in names:
            return g
    if name in entries:
        return "compiled"
    return "driver"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("artifact")
    parser.add_argument("--prompt", type=int, default=16,
                        help="prefill tokens (the decode step runs at this position)")
    parser.add_argument("--pmpd-run", default=os.path.join(
        os.path.dirname(__file__), "..", "build", "bin", "pmpd-run"))
    parser.add_argument("--qemu", default=shutil.which("qemu-hexagon") or "qemu-hexagon")
    args = parser.parse_args()

    elf = os.path.join(args.artifact, "model.elf")
    table = symbols(elf)
    addresses = [a for a, _ in table]
    entries = {n for _, n in table
               if re.match(r"(_mlir_ciface_)?(prefill|decode(_b\d+)?)$", n)}
    starts = {a: n for a, n in table}
    prefill_entry = next(a for a, n in table if n == "_mlir_ciface_prefill")
    decode_entry = next(a for a, n in table if n == "_mlir_ciface_decode")

    counts = {"startup": {}, "prefill": {}, "decode": {}}
    entered = {"startup": {}, "prefill": {}, "decode": {}}
    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "exec.fifo")
        os.mkfifo(fifo)
        wrapper = os.path.join(tmp, "qemu")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec %s -singlestep -d exec,nochain -D %s \"$@\"\n"
                    % (args.qemu, fifo))
        os.chmod(wrapper, 0o755)

        def read():
            phase, calls = "startup", {"prefill": 0, "decode": 0}
            with open(fifo) as f:
                for line in f:
                    m = re.search(r"\[[0-9a-f]+/([0-9a-f]+)/", line)
                    if not m:
                        continue
                    pc = int(m.group(1), 16)
                    if pc == prefill_entry:
                        phase = "prefill"
                        calls["prefill"] += 1
                    elif pc == decode_entry:
                        phase = "decode"
                        calls["decode"] += 1
                    i = bisect.bisect_right(addresses, pc) - 1
                    name = table[i][1] if i >= 0 else "?"
                    c = counts[phase]
                    c[name] = c.get(name, 0) + 1
                    if pc in starts:
                        e = entered[phase]
                        e[name] = e.get(name, 0) + 1
            read.calls = calls

        reader = threading.Thread(target=read)
        reader.start()
        ids = ",".join(str(1 + (i * 7919) % 8000) for i in range(args.prompt))
        env = dict(os.environ, PMPD_QEMU_HEXAGON=wrapper)
        run = subprocess.run([args.pmpd_run, args.artifact, "--prompt-ids", ids,
                              "-n", "2", "--ignore-eos", "--json"],
                             env=env, capture_output=True, text=True)
        reader.join()
        if run.returncode != 0:
            sys.exit(run.stderr)

    result = {"prompt": args.prompt, "calls": read.calls}
    for phase in ("prefill", "decode"):
        groups = {}
        for name, n in counts[phase].items():
            g = group(name, entries)
            groups[g] = groups.get(g, 0) + n
        top = sorted(counts[phase].items(), key=lambda kv: -kv[1])[:8]
        libm = {name: {"calls": entered[phase].get(name, 0),
                       "packets_per_call": round(counts[phase][name] /
                                                 max(1, entered[phase].get(name, 0)), 1)}
                for name in GROUPS["libm"] if name in counts[phase]}
        result[phase] = {"packets": groups, "total": sum(groups.values()),
                         "top_functions": dict(top), "libm": libm}
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
