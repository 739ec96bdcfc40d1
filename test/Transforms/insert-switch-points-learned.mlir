// RUN: cd %S && pmpd-opt %s --split-input-file --pmpd-insert-switch-points --verify-diagnostics | FileCheck %s

// A learned schedule: the classifier of Inputs/scheduler-4-3-2.json becomes
// the step_precision's attribute, one row [bias, w_confidence, w_entropy,
// w_step] per transition. @decode takes the scheduler state after the
// variants' arguments and returns the updated state before the bits: the stage
// that ran, then the confidence and entropy of the logits it produced.

// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[STEP:[^:]*]]: i64, %[[TOK:[^:]*]]: tensor<1xi64>, %[[KC:[^:]*]]: tensor<2x16x1x4xf32>, %[[STATE:[^:]*]]: tensor<3xf32>)
// CHECK-SAME: -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<3xf32>, i32)
// CHECK: %[[BITS:.*]] = pmpd.step_precision %[[STEP]] features(%[[STATE]] : tensor<3xf32>)
// CHECK-SAME: schedule <prefill = 4, decode = [4 from 0, 3 from 8, 2 from 12], learned = "Inputs/scheduler-4-3-2.json"> : i64
// CHECK-SAME: {classifier = dense<{{\[\[}}-3.500000e+00, 6.000000e+00, -2.500000e-01, 0.000000e+00], [-1.000000e+00, 0.000000e+00, 0.000000e+00, 1.250000e-01]]> : tensor<2x4xf32>}
// CHECK: %[[R:.*]]:3 = scf.index_switch
// The largest logit, then the sums of exp(l - max) and exp(l - max) * (l - max).
// CHECK: %[[MAX:.*]] = scf.for {{.*}} -> (f32)
// CHECK: tensor.extract %[[R]]#0
// CHECK: arith.maximumf
// CHECK: %[[SUMS:.*]]:2 = scf.for
// CHECK: math.exp
// CHECK: %[[CONF:.*]] = arith.divf %{{.*}}, %[[SUMS]]#0
// CHECK: %[[LOG:.*]] = math.log %[[SUMS]]#0
// CHECK: %[[MEAN:.*]] = arith.divf %[[SUMS]]#1, %[[SUMS]]#0
// CHECK: %[[ENT:.*]] = arith.subf %[[LOG]], %[[MEAN]]
// The stage of the bits that ran: one per later stage at or above them.
// CHECK: arith.cmpi sle, %[[R]]#2, %{{.*}}
// CHECK: arith.cmpi sle, %[[R]]#2, %{{.*}}
// CHECK: %[[STAGE:.*]] = arith.addf
// CHECK: %[[S0:.*]] = tensor.insert %[[STAGE]] into %[[STATE]][%{{.*}}]
// CHECK: %[[S1:.*]] = tensor.insert %[[CONF]] into %[[S0]][%{{.*}}]
// CHECK: %[[S2:.*]] = tensor.insert %[[ENT]] into %[[S1]][%{{.*}}]
// CHECK: return %[[R]]#0, %[[R]]#1, %[[S2]], %[[R]]#2
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 8, 2 from 12], learned = "Inputs/scheduler-4-3-2.json">} {
  func.func @decode_b4(%tokens: tensor<1xi64>, %kc: tensor<2x16x1x4xf32>)
      -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>) {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l, %kc : tensor<1x32xf32>, tensor<2x16x1x4xf32>
  }
  func.func @decode_b3(%tokens: tensor<1xi64>, %kc: tensor<2x16x1x4xf32>)
      -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>) {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l, %kc : tensor<1x32xf32>, tensor<2x16x1x4xf32>
  }
  func.func @decode_b2(%tokens: tensor<1xi64>, %kc: tensor<2x16x1x4xf32>)
      -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>) {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l, %kc : tensor<1x32xf32>, tensor<2x16x1x4xf32>
  }
}

// -----

// The state is computed from the logits, so the variants must return them
// first.
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 8, 2 from 12], learned = "Inputs/scheduler-4-3-2.json">} {
  // expected-error @+1 {{a learned schedule needs the decode variants' first result to be the logits, tensor<1xVxf32>; got '(tensor<1xi64>) -> tensor<2x32xf32>'}}
  func.func @decode_b4(%tokens: tensor<1xi64>) -> tensor<2x32xf32> {
    %l = tensor.empty() : tensor<2x32xf32>
    return %l : tensor<2x32xf32>
  }
  func.func @decode_b3(%tokens: tensor<1xi64>) -> tensor<2x32xf32> {
    %l = tensor.empty() : tensor<2x32xf32>
    return %l : tensor<2x32xf32>
  }
  func.func @decode_b2(%tokens: tensor<1xi64>) -> tensor<2x32xf32> {
    %l = tensor.empty() : tensor<2x32xf32>
    return %l : tensor<2x32xf32>
  }
}

