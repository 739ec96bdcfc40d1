// Diagnostics for the pass options: each RUN line gives one bad schedule or
// override and checks the message and where it points.
// DEFINE: %{assign} = pmpd-opt %s --mlir-print-op-on-diagnostic=false --pmpd-assign-precision

// RUN: not %{assign}='schedule=prefill=x' 2>&1 | FileCheck %s --check-prefix=SYNTAX
// SYNTAX: assign-precision-options.mlir:{{[0-9]+}}:1: error: invalid schedule 'prefill=x': prefill bits 'x' are not a number
// SYNTAX-NEXT: {{^}}module {

// RUN: not %{assign}='schedule=prefill=4;decode=4@0,3' 2>&1 | FileCheck %s --check-prefix=STAGE
// STAGE: error: invalid schedule 'prefill=4;decode=4@0,3': decode stage '3' is not BITS@STEP

// RUN: not %{assign}='schedule=prefill=4;decode=3@0,4@5' 2>&1 | FileCheck %s --check-prefix=RISE
// RISE: error: invalid schedule 'prefill=4;decode=3@0,4@5': decode precision rises from 3 to 4 bits at step 5; mark the schedule 'nonmonotone' to allow it

// RUN: not %{assign}='schedule=prefill=4;decode=learned:sched.json' 2>&1 | FileCheck %s --check-prefix=LEARNED
// LEARNED: error: invalid schedule 'prefill=4;decode=learned:sched.json': sched.json: cannot read the learned scheduler: No such file or directory

// RUN: not %{assign}='schedule=prefill=4;decode=4@0,4@8;learned=sched.json' 2>&1 | FileCheck %s --check-prefix=FLAT
// FLAT: error: invalid schedule 'prefill=4;decode=4@0,4@8;learned=sched.json': a learned schedule steps down in precision at every stage; stage 1 has 4 bits after 4

// RUN: not %{assign}='schedule=prefill=4;decode=4@0,2@8;learned=' 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: error: invalid schedule 'prefill=4;decode=4@0,2@8;learned=': learned= needs the classifier's file

// A schedule different from the recorded one is refused.
// RUN: %{assign}='schedule=prefill=4;decode=4@0' | not pmpd-opt --mlir-print-op-on-diagnostic=false \
// RUN:   --pmpd-assign-precision='schedule=prefill=4;decode=4@0,2@8' 2>&1 | FileCheck %s --check-prefix=CONFLICT
// CONFLICT: error: module already records schedule 'prefill=4;decode=4@0', not the schedule 'prefill=4;decode=4@0,2@8' asked for

// RUN: not %{assign}='schedule=prefill=4;decode=4@0 overrides=layers.9=4' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: error: override 'layers.9=4' names no projection weight
// UNKNOWN: note: projection weights are named like @layers.0.q_proj; override a layer (layers.0) or one projection (layers.0.q_proj)
// UNKNOWN-NEXT: pmpd.weight @layers.0.q_proj =

// RUN: not %{assign}='schedule=prefill=4;decode=4@0 overrides=layers.0=5' 2>&1 | FileCheck %s --check-prefix=ABOVE
// ABOVE: assign-precision-options.mlir:{{[0-9]+}}:3: error: override 'layers.0=5' asks for 5 bits, above the parent of weight @layers.0.q_proj, which serves 2 to 4 bits
// ABOVE-NEXT: pmpd.weight @layers.0.q_proj =
// ABOVE: note: projection using it here
// ABOVE-NEXT: %y0 = pmpd.qlinear %x, %w0

// RUN: not %{assign}='schedule=prefill=4;decode=4@0 overrides=layers.0.q_proj=16' 2>&1 | FileCheck %s --check-prefix=FP16
// FP16: error: fp16 asked of a packed-only model: weight @layers.0.q_proj has no fp16 copy (asked by override 'layers.0.q_proj=16')

// RUN: not %{assign}='schedule=prefill=4;decode=4@0 overrides=lm_head=4' 2>&1 | FileCheck %s --check-prefix=LMHEAD
// LMHEAD: error: override 'lm_head=4' asks for 4 bits but weight @lm_head is outside the layers and always runs at fp16

// RUN: not %{assign}='schedule=prefill=4;decode=4@0 overrides=layers.0' 2>&1 | FileCheck %s --check-prefix=NOBITS
// NOBITS: error: invalid override 'layers.0': expected NAME=BITS, e.g. layers.0=4 or layers.3.down_proj=4

// RUN: not %{assign}='schedule=prefill=4;decode=4@0 overrides=layers.0=four' 2>&1 | FileCheck %s --check-prefix=NAN
// NAN: error: invalid override 'layers.0=four': bits 'four' are not a number

// RUN: not %{assign}='schedule=prefill=4;decode=4@0 overrides=layers.0=9' 2>&1 | FileCheck %s --check-prefix=BADBITS
// BADBITS: error: invalid override 'layers.0=9': unsupported precision 9 bits; expected 2 to 8, or 16 for fp16

// RUN: not %{assign}='schedule=prefill=4;decode=4@0 overrides=layers.0=4,layers.0=3' 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: error: invalid override 'layers.0=3': 'layers.0' is overridden twice

// lm_head may be "overridden" to the 16 bits it runs at anyway.
// RUN: %{assign}='schedule=prefill=4;decode=4@0 overrides=lm_head=16' | FileCheck %s --check-prefix=LMHEAD16
// LMHEAD16-LABEL: func.func @forward
// LMHEAD16: pmpd.get_weight @lm_head
// LMHEAD16-NEXT: pmpd.qlinear {{.*}} {pmpd.precision = #pmpd.precision<16>}

module {
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @lm_head = "lm_head.weight" : tensor<32x8xf16>
  func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x32xf32> {
    %w0 = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %y0 = pmpd.qlinear %x, %w0 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %wl = pmpd.get_weight @lm_head : tensor<32x8xf16>
    %l = pmpd.qlinear %y0, %wl : tensor<?x8xf32>, tensor<32x8xf16> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}
