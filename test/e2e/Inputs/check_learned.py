#!/usr/bin/env python3
"""Replays a learned scheduler on the logits pmpd-run dumped and checks that
the compiled decode entry switched exactly where the scheduler file says.

  check_learned.py SCHEDULER.json RUN.json LOGITS.npy

The state before decode step t holds the stage and the confidence (largest
softmax probability) and entropy (nats) of step t-1's logits; before step 0 it
is all zeros. In stage i, once step t reaches stage i+1's first step, the step
runs at stage i+1 when bias + w . (confidence, entropy, t) > 0.
"""
import json
import sys

import numpy as np


def main():
    scheduler = json.load(open(sys.argv[1]))
    run = json.load(open(sys.argv[2]))
    logits = np.load(sys.argv[3]).astype(np.float64)
    stages = scheduler["stages"]
    transitions = scheduler["transitions"]
    prompt = run["stats"]["prompt_tokens"]
    steps = run["stats"]["decode_tokens"]

    stage, confidence, entropy = 0, 0.0, 0.0
    expected_bits, switches = [], []
    for t in range(steps):
        if stage + 1 < len(stages) and t >= stages[stage + 1]["from"]:
            tr = transitions[stage]
            w = tr["weights"]
            z = (tr["bias"] + w.get("confidence", 0.0) * confidence +
                 w.get("entropy", 0.0) * entropy + w.get("step", 0.0) * t)
            # The compiled code decides in f32 from f32 sums; within float
            # noise of the boundary either decision is right, so take the
            # run's.
            fires = z > 0 if abs(z) > 1e-4 else t in run["stats"]["switch_steps"]
            if fires:
                stage += 1
                switches.append(t)
        expected_bits.append(stages[stage]["bits"])
        # This step's logits: row prompt - 1 + 1 + t of the dump (the
        # prompt's rows, then one per decode step).
        row = logits[prompt + t]
        p = np.exp(row - row.max())
        s = p.sum()
        confidence = 1.0 / s
        entropy = float(np.log(s) - ((row - row.max()) * p).sum() / s)

    got = run["stats"]["switch_steps"]
    if got != switches:
        sys.exit(f"switch steps {got}, but the scheduler gives {switches}")
    segments = run["stats"]["decode_segments"]
    got_bits = [seg["bits"] for seg in segments for _ in range(seg["tokens"])]
    if got_bits != expected_bits:
        sys.exit(f"per-step bits {got_bits}, expected {expected_bits}")
    print(f"switches at {switches} as the scheduler gives")


if __name__ == "__main__":
    main()
