// The three passes chained, by hand and as the registered pipeline.
// RUN: pmpd-opt %s --pmpd-assign-precision='schedule=prefill=4;decode=4@0,3@8,2@12 overrides=layers.1=4,layers.0.o_proj=3' \
// RUN:   --pmpd-specialize-phases --pmpd-insert-switch-points | FileCheck %s
// RUN: pmpd-opt %s --pmpd-phase-pipeline='schedule=prefill=4;decode=4@0,3@8,2@12 overrides=layers.1=4,layers.0.o_proj=3' | FileCheck %s

// The result is itself a valid module that round-trips.
// RUN: pmpd-opt %s --pmpd-phase-pipeline='schedule=prefill=4;decode=4@0,3@8,2@12' | pmpd-opt | FileCheck %s --check-prefix=ROUNDTRIP
// ROUNDTRIP-LABEL: func.func @prefill(
// ROUNDTRIP-LABEL: func.func @decode(

// Running the phase passes again on the result is an error, not a silent
// second specialization.
// RUN: pmpd-opt %s --pmpd-phase-pipeline='schedule=prefill=4;decode=4@0,3@8,2@12' \
// RUN:   | not pmpd-opt --mlir-print-op-on-diagnostic=false --pmpd-phase-pipeline='schedule=prefill=4;decode=4@0,3@8,2@12' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TWICE
// TWICE: error: module is already specialized into phases (@prefill); assign precisions before pmpd-specialize-phases
// RUN: pmpd-opt %s --pmpd-phase-pipeline='schedule=prefill=4;decode=4@0,3@8,2@12' \
// RUN:   | not pmpd-opt --mlir-print-op-on-diagnostic=false --pmpd-specialize-phases 2>&1 | FileCheck %s --check-prefix=SPECIALIZE-TWICE
// SPECIALIZE-TWICE: error: no @forward to specialize
// SPECIALIZE-TWICE: note: the module is already specialized: @prefill is here
// RUN: pmpd-opt %s --pmpd-phase-pipeline='schedule=prefill=4;decode=4@0,3@8,2@12' \
// RUN:   | not pmpd-opt --mlir-print-op-on-diagnostic=false --pmpd-insert-switch-points 2>&1 | FileCheck %s --check-prefix=SWITCH-TWICE
// SWITCH-TWICE: error: @decode already exists; pmpd-insert-switch-points creates it

// The pipeline's options reach the passes.
// RUN: not pmpd-opt %s --mlir-print-op-on-diagnostic=false --pmpd-phase-pipeline='schedule=prefill=4;decode=learned:no-such.json' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=LEARNED
// LEARNED: error: invalid schedule 'prefill=4;decode=learned:no-such.json': no-such.json: cannot read the learned scheduler: No such file or directory

// CHECK-LABEL: module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 8, 2 from 12]>}
// CHECK-NOT: @layers.1.unused
// CHECK-NOT: @forward
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: tensor<?xi64>
// CHECK-SAME: {pmpd.phase = #pmpd.phase<prefill>, pmpd.precision = #pmpd.precision<4>}
// CHECK-COUNT-2: precision <4> : tensor<?x8xf32>
// CHECK-NEXT: tensor.insert_slice
// CHECK: precision <3> : tensor<?x8xf32>
// CHECK-COUNT-3: precision <4> : tensor<?x8xf32>
// CHECK: precision <16> : tensor<?x8xf32>, tensor<32x8xf16> -> tensor<?x32xf32>
// CHECK-LABEL: func.func @decode_b4(
// CHECK-SAME: tensor<1xi64>
// CHECK-SAME: -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>)
// CHECK-SAME: {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<4>}
// CHECK-COUNT-2: precision <4> : tensor<1x8xf32>
// CHECK: precision <3> : tensor<1x8xf32>
// CHECK-COUNT-3: precision <4> : tensor<1x8xf32>
// CHECK: precision <16> : tensor<1x8xf32>, tensor<32x8xf16> -> tensor<1x32xf32>
// CHECK-LABEL: func.func @decode_b3(
// CHECK-SAME: {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<3>}
// CHECK-COUNT-3: precision <3> : tensor<1x8xf32>
// CHECK-COUNT-3: precision <4> : tensor<1x8xf32>
// CHECK: precision <16> : tensor<1x8xf32>
// CHECK-LABEL: func.func @decode_b2(
// CHECK-SAME: {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<2>}
// CHECK-COUNT-2: precision <2> : tensor<1x8xf32>
// CHECK: precision <3> : tensor<1x8xf32>
// CHECK-COUNT-3: precision <4> : tensor<1x8xf32>
// CHECK: precision <16> : tensor<1x8xf32>
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[STEP:[^:]*]]: i64, %[[TOK:[^:]*]]: tensor<1xi64>, %[[START:[^:]*]]: index, %[[KC:[^:]*]]: tensor<2x16x1x4xf32>, %[[VC:[^:]*]]: tensor<2x16x1x4xf32>)
// CHECK-SAME: -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>, i32)
// CHECK-SAME: attributes {pmpd.phase = #pmpd.phase<decode>}
// CHECK: %[[BITS:.*]] = pmpd.step_precision %[[STEP]] schedule <prefill = 4, decode = [4 from 0, 3 from 8, 2 from 12]> : i64
// CHECK: %[[INDEX:.*]] = arith.index_cast %[[BITS]] : i32 to index
// CHECK: %[[R:.*]]:4 = scf.index_switch %[[INDEX]]
// CHECK: case 4 {
// CHECK-NEXT: func.call @decode_b4(%[[TOK]], %[[START]], %[[KC]], %[[VC]])
// CHECK: case 3 {
// CHECK-NEXT: func.call @decode_b3(%[[TOK]], %[[START]], %[[KC]], %[[VC]])
// CHECK: case 2 {
// CHECK-NEXT: func.call @decode_b2(%[[TOK]], %[[START]], %[[KC]], %[[VC]])
// CHECK: default {
// CHECK-NEXT: func.call @decode_b4(
// CHECK: return %[[R]]#0, %[[R]]#1, %[[R]]#2, %[[R]]#3 : tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>, i32
// CHECK-NOT: func.func

#tok = affine_map<(d0, d1) -> (d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
module {
  pmpd.weight @embed_tokens = "model.embed_tokens.weight" : tensor<32x8xf16>
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @layers.0.k_proj = "model.layers.0.self_attn.k_proj" : !pmpd.qweight<4x8, parent = 4, seed = 2>
  pmpd.weight @layers.0.o_proj = "model.layers.0.self_attn.o_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @layers.1.q_proj = "model.layers.1.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @layers.1.k_proj = "model.layers.1.self_attn.k_proj" : !pmpd.qweight<4x8, parent = 4, seed = 2>
  pmpd.weight @layers.1.o_proj = "model.layers.1.self_attn.o_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @layers.1.unused = "model.layers.1.unused" : tensor<8xf16>
  pmpd.weight @norm = "model.norm.weight" : tensor<8xf16>
  pmpd.weight @lm_head = "lm_head.weight" : tensor<32x8xf16>

  func.func @forward(%tokens: tensor<?xi64>, %start: index,
                     %k_cache: tensor<2x16x1x4xf32>, %v_cache: tensor<2x16x1x4xf32>)
      -> (tensor<?x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>) {
    %c0 = arith.constant 0 : index
    %n = tensor.dim %tokens, %c0 : tensor<?xi64>
    %embed = pmpd.get_weight @embed_tokens : tensor<32x8xf16>
    %init = tensor.empty(%n) : tensor<?x8xf32>
    %x0 = linalg.generic {indexing_maps = [#tok, #id], iterator_types = ["parallel", "parallel"]}
        ins(%tokens : tensor<?xi64>) outs(%init : tensor<?x8xf32>) {
    ^bb0(%t: i64, %out: f32):
      %row = arith.index_cast %t : i64 to index
      %c = linalg.index 1 : index
      %e = tensor.extract %embed[%row, %c] : tensor<32x8xf16>
      %f = arith.extf %e : f16 to f32
      linalg.yield %f : f32
    } -> tensor<?x8xf32>

    %wq0 = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %q0 = pmpd.qlinear %x0, %wq0 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %wk0 = pmpd.get_weight @layers.0.k_proj : !pmpd.qweight<4x8, parent = 4, seed = 2>
    %k0 = pmpd.qlinear %x0, %wk0 : tensor<?x8xf32>, !pmpd.qweight<4x8, parent = 4, seed = 2> -> tensor<?x4xf32>
    %kc0 = tensor.insert_slice %k0 into %k_cache[0, %start, 0, 0] [1, %n, 1, 4] [1, 1, 1, 1]
        : tensor<?x4xf32> into tensor<2x16x1x4xf32>
    %wo0 = pmpd.get_weight @layers.0.o_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %o0 = pmpd.qlinear %q0, %wo0 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %x1 = linalg.add ins(%x0, %o0 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%init : tensor<?x8xf32>) -> tensor<?x8xf32>

    %wq1 = pmpd.get_weight @layers.1.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %q1 = pmpd.qlinear %x1, %wq1 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %wk1 = pmpd.get_weight @layers.1.k_proj : !pmpd.qweight<4x8, parent = 4, seed = 2>
    %k1 = pmpd.qlinear %x1, %wk1 : tensor<?x8xf32>, !pmpd.qweight<4x8, parent = 4, seed = 2> -> tensor<?x4xf32>
    %kc1 = tensor.insert_slice %k1 into %kc0[1, %start, 0, 0] [1, %n, 1, 4] [1, 1, 1, 1]
        : tensor<?x4xf32> into tensor<2x16x1x4xf32>
    %wo1 = pmpd.get_weight @layers.1.o_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %o1 = pmpd.qlinear %q1, %wo1 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %x2 = linalg.add ins(%x1, %o1 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%init : tensor<?x8xf32>) -> tensor<?x8xf32>

    %norm = pmpd.get_weight @norm : tensor<8xf16>
    %xn = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
        ins(%x2, %norm : tensor<?x8xf32>, tensor<8xf16>) outs(%init : tensor<?x8xf32>) {
    ^bb0(%a: f32, %g: f16, %out: f32):
      %gf = arith.extf %g : f16 to f32
      %m = arith.mulf %a, %gf : f32
      linalg.yield %m : f32
    } -> tensor<?x8xf32>
    %wl = pmpd.get_weight @lm_head : tensor<32x8xf16>
    %logits = pmpd.qlinear %xn, %wl : tensor<?x8xf32>, tensor<32x8xf16> -> tensor<?x32xf32>
    return %logits, %kc1, %v_cache : tensor<?x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>
  }
}
