// Every malformed learned-scheduler file is an error naming the file and
// the problem. Each case is one line of Inputs/scheduler-bad.jsonl.
// DEFINE: %{assign} = pmpd-opt %s --mlir-print-op-on-diagnostic=false --pmpd-assign-precision

// RUN: grep '^MALFORMED ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.malformed.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.malformed.json' 2>&1 | FileCheck %s --check-prefix=MALFORMED
// MALFORMED: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.malformed.json': {{.*}}.malformed.json: malformed JSON: 

// RUN: grep '^FORMAT ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.format.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.format.json' 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.format.json': {{.*}}.format.json: not a learned scheduler: "format" must be "pmpd-learned-scheduler"

// RUN: grep '^VERSION ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.version.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.version.json' 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.version.json': {{.*}}.version.json: unsupported version 7; this build reads version 1

// RUN: grep '^ONESTAGE ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.onestage.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.onestage.json' 2>&1 | FileCheck %s --check-prefix=ONESTAGE
// ONESTAGE: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.onestage.json': {{.*}}.onestage.json: "stages" must list at least two {"bits": B, "from": STEP} objects

// RUN: grep '^STAGEFORM ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.stageform.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.stageform.json' 2>&1 | FileCheck %s --check-prefix=STAGEFORM
// STAGEFORM: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.stageform.json': {{.*}}.stageform.json: stage 1 is not {"bits": B, "from": STEP}

// RUN: grep '^BITS ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.bits.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.bits.json' 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.bits.json': {{.*}}.bits.json: stage 1: unsupported precision 1 bits; expected 2 to 8, or 16 for fp16

// RUN: grep '^FIRST ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.first.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.first.json' 2>&1 | FileCheck %s --check-prefix=FIRST
// FIRST: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.first.json': {{.*}}.first.json: the first stage must start at step 0

// RUN: grep '^STEPS ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.steps.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.steps.json' 2>&1 | FileCheck %s --check-prefix=STEPS
// STEPS: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.steps.json': {{.*}}.steps.json: stage 2 starts at step 8, not after the previous stage

// RUN: grep '^RISE ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.rise.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.rise.json' 2>&1 | FileCheck %s --check-prefix=RISE
// RISE: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.rise.json': {{.*}}.rise.json: stage 1 has 4 bits; a learned scheduler only steps down in precision

// RUN: grep '^COUNT ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.count.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.count.json' 2>&1 | FileCheck %s --check-prefix=COUNT
// COUNT: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.count.json': {{.*}}.count.json: "transitions" must hold one classifier per switch (1)

// RUN: grep '^BIAS ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.bias.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.bias.json' 2>&1 | FileCheck %s --check-prefix=BIAS
// BIAS: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.bias.json': {{.*}}.bias.json: transition 0 has no number 'bias'

// RUN: grep '^WEIGHTS ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.weights.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.weights.json' 2>&1 | FileCheck %s --check-prefix=WEIGHTS
// WEIGHTS: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.weights.json': {{.*}}.weights.json: transition 0 has no "weights" object

// RUN: grep '^FEATURE ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.feature.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.feature.json' 2>&1 | FileCheck %s --check-prefix=FEATURE
// FEATURE: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.feature.json': {{.*}}.feature.json: transition 0: unknown feature 'perplexity'; expected confidence, entropy or step

// RUN: grep '^WEIGHT ' %S/Inputs/scheduler-bad.jsonl | cut -d' ' -f2- > %t.weight.json
// RUN: not %{assign}='schedule=prefill=4;decode=learned:%t.weight.json' 2>&1 | FileCheck %s --check-prefix=WEIGHT
// WEIGHT: error: invalid schedule 'prefill=4;decode=learned:{{.*}}.weight.json': {{.*}}.weight.json: transition 0 weights has no number 'step'

// The stages a module records must be the file's.
// RUN: cd %S && not pmpd-opt %s --mlir-print-op-on-diagnostic=false --pmpd-insert-switch-points 2>&1 | FileCheck %s --check-prefix=MISMATCH
// MISMATCH: error: Inputs/scheduler-4-3-2.json: the scheduler's stages (4@0, 3@8, 2@12) differ from the schedule's #pmpd.schedule<prefill = 4, decode = [4 from 0, 2 from 12], learned = "Inputs/scheduler-4-3-2.json">

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 2 from 12], learned = "Inputs/scheduler-4-3-2.json">} {
}
