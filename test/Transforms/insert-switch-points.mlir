// RUN: pmpd-opt %s --split-input-file --pmpd-insert-switch-points | FileCheck %s

// @decode asks the schedule for the step's precision and calls that variant;
// it returns the variant's results and the precision that ran. The default
// (dead: step_precision only yields the schedule's precisions) runs the
// first stage's variant and says so.

// CHECK-LABEL: func.func @prefill(
// CHECK-LABEL: func.func @decode_b4(
// CHECK-LABEL: func.func @decode_b3(
// CHECK-LABEL: func.func @decode_b2(
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[STEP:[^:]*]]: i64, %[[TOK:[^:]*]]: tensor<1xi64>, %[[START:[^:]*]]: index, %[[KC:[^:]*]]: tensor<2x16x1x4xf32>)
// CHECK-SAME: -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>, i32)
// CHECK-SAME: attributes {pmpd.phase = #pmpd.phase<decode>}
// CHECK-NEXT: %[[BITS:.*]] = pmpd.step_precision %[[STEP]] schedule <prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]> : i64
// CHECK-NEXT: %[[INDEX:.*]] = arith.index_cast %[[BITS]] : i32 to index
// CHECK-NEXT: %[[R:.*]]:3 = scf.index_switch %[[INDEX]] -> tensor<1x32xf32>, tensor<2x16x1x4xf32>, i32
// CHECK-NEXT: case 4 {
// CHECK-NEXT: %[[C:.*]]:2 = func.call @decode_b4(%[[TOK]], %[[START]], %[[KC]])
// CHECK-NEXT: %[[B:.*]] = arith.constant 4 : i32
// CHECK-NEXT: scf.yield %[[C]]#0, %[[C]]#1, %[[B]]
// CHECK-NEXT: }
// CHECK-NEXT: case 3 {
// CHECK-NEXT: %[[C:.*]]:2 = func.call @decode_b3(%[[TOK]], %[[START]], %[[KC]])
// CHECK-NEXT: %[[B:.*]] = arith.constant 3 : i32
// CHECK-NEXT: scf.yield %[[C]]#0, %[[C]]#1, %[[B]]
// CHECK-NEXT: }
// CHECK-NEXT: case 2 {
// CHECK-NEXT: %[[C:.*]]:2 = func.call @decode_b2(%[[TOK]], %[[START]], %[[KC]])
// CHECK-NEXT: %[[B:.*]] = arith.constant 2 : i32
// CHECK-NEXT: scf.yield %[[C]]#0, %[[C]]#1, %[[B]]
// CHECK-NEXT: }
// CHECK-NEXT: default {
// CHECK-NEXT: %[[C:.*]]:2 = func.call @decode_b4(%[[TOK]], %[[START]], %[[KC]])
// CHECK-NEXT: %[[B:.*]] = arith.constant 4 : i32
// CHECK-NEXT: scf.yield %[[C]]#0, %[[C]]#1, %[[B]]
// CHECK-NEXT: }
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1, %[[R]]#2 : tensor<1x32xf32>, tensor<2x16x1x4xf32>, i32
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]>} {
  func.func @prefill(%tokens: tensor<?xi64>, %start: index, %kc: tensor<2x16x1x4xf32>)
      -> (tensor<?x32xf32>, tensor<2x16x1x4xf32>)
      attributes {pmpd.phase = #pmpd.phase<prefill>, pmpd.precision = #pmpd.precision<4>} {
    %c0 = arith.constant 0 : index
    %n = tensor.dim %tokens, %c0 : tensor<?xi64>
    %l = tensor.empty(%n) : tensor<?x32xf32>
    return %l, %kc : tensor<?x32xf32>, tensor<2x16x1x4xf32>
  }
  func.func @decode_b4(%tokens: tensor<1xi64>, %start: index, %kc: tensor<2x16x1x4xf32>)
      -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>)
      attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<4>} {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l, %kc : tensor<1x32xf32>, tensor<2x16x1x4xf32>
  }
  func.func @decode_b3(%tokens: tensor<1xi64>, %start: index, %kc: tensor<2x16x1x4xf32>)
      -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>)
      attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<3>} {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l, %kc : tensor<1x32xf32>, tensor<2x16x1x4xf32>
  }
  func.func @decode_b2(%tokens: tensor<1xi64>, %start: index, %kc: tensor<2x16x1x4xf32>)
      -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>)
      attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<2>} {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l, %kc : tensor<1x32xf32>, tensor<2x16x1x4xf32>
  }
}

// -----

// fp16 decode dispatches to @decode_b16; a stage repeating the previous
// precision adds no case.
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %{{.*}}: i64, %{{.*}}: tensor<1xi64>) -> (tensor<1x32xf32>, i32)
// CHECK: pmpd.step_precision %{{.*}} schedule <prefill = 16, decode = [16 from 0, 16 from 64]> : i64
// CHECK: scf.index_switch
// CHECK-NEXT: case 16 {
// CHECK-NEXT: func.call @decode_b16(
// CHECK-NEXT: arith.constant 16 : i32
// CHECK-NEXT: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: default {
// CHECK-NEXT: func.call @decode_b16(
// CHECK-NEXT: arith.constant 16 : i32
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 16, decode = [16 from 0, 16 from 64]>} {
  func.func @decode_b16(%tokens: tensor<1xi64>) -> tensor<1x32xf32>
      attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<16>} {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l : tensor<1x32xf32>
  }
}
