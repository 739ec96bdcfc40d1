// RUN: cd %S && pmpd-opt %s --split-input-file --pmpd-insert-switch-points --verify-diagnostics | FileCheck %s

// A kv_cache schedule: @decode takes the state after the variants' arguments
// ([decided, first step of 3 bits, first step of 2 bits]). When the state is
// not yet decided (the first step after a prefill), the classifiers of
// Inputs/kv-scheduler-4-3-2.json run on the last layer of the caches (the
// variants' rank-4 arguments) at the rows before the position (their i64),
// as linalg on tensors; step_precision then reads the state, which @decode
// returns before the bits.

// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[STEP:[^:]*]]: i64, %[[TOK:[^:]*]]: tensor<1xi64>, %[[POS:[^:]*]]: i64, %[[KC:[^:]*]]: tensor<2x16x1x4xf32>, %[[VC:[^:]*]]: tensor<2x16x1x4xf32>, %[[STATE:[^:]*]]: tensor<3xf32>)
// CHECK-SAME: -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>, tensor<3xf32>, i32)
// CHECK: %[[DECIDED:.*]] = tensor.extract %[[STATE]][%{{.*}}] : tensor<3xf32>
// CHECK: %[[UNDECIDED:.*]] = arith.cmpf oeq, %[[DECIDED]], %{{.*}} : f32
// CHECK: %[[CHOSEN:.*]] = scf.if %[[UNDECIDED]] -> (tensor<3xf32>) {
// CHECK: %[[ROWS:.*]] = arith.index_cast %[[POS]] : i64 to index
// CHECK: tensor.extract_slice %[[KC]][1, 0, 0, 0] [1, 16, 1, 4] [1, 1, 1, 1] : tensor<2x16x1x4xf32> to tensor<16x1x4xf32>
// CHECK: tensor.extract_slice %[[VC]][1, 0, 0, 0] [1, 16, 1, 4] [1, 1, 1, 1] : tensor<2x16x1x4xf32> to tensor<16x1x4xf32>
// The learned query attends over the positions; past the prompt, -inf.
// CHECK: arith.constant dense<{{.*}}> : tensor<1x1x4xf32>
// CHECK: linalg.generic
// CHECK: linalg.index 2 : index
// CHECK: arith.cmpi slt, %{{.*}}, %[[ROWS]] : index
// CHECK: math.exp
// CHECK: tensor.collapse_shape {{.*}} : tensor<4x1xf32> into tensor<4xf32>
// CHECK: math.sqrt
// CHECK: arith.constant dense<{{.*}}> : tensor<4x4xf32>
// CHECK: arith.maximumf
// The first largest logit picks the switch step (+inf: never).
// CHECK: arith.cmpf ogt
// CHECK: arith.constant 0x7F800000 : f32
// The 3->2 classifier; the stages start at the latest switch so far.
// CHECK: arith.constant dense<{{.*}}> : tensor<1x1x4xf32>
// The choice is written into the state, in place.
// CHECK: %[[FIRST2:[0-9]+]] = arith.maximumf %[[FIRST3:[0-9]+]], %{{[0-9]+}} : f32
// CHECK: %[[S0:.*]] = tensor.insert %{{.*}} into %[[STATE]][%{{.*}}] : tensor<3xf32>
// CHECK: %[[S1:.*]] = tensor.insert %[[FIRST3]] into %[[S0]][%{{.*}}] : tensor<3xf32>
// CHECK: %[[NEW:.*]] = tensor.insert %[[FIRST2]] into %[[S1]][%{{.*}}] : tensor<3xf32>
// CHECK: scf.yield %[[NEW]] : tensor<3xf32>
// CHECK: } else {
// CHECK: scf.yield %[[STATE]] : tensor<3xf32>
// CHECK: %[[BITS:.*]] = pmpd.step_precision %[[STEP]] features(%[[CHOSEN]] : tensor<3xf32>)
// CHECK-SAME: schedule <prefill = 4, decode = [4 from 0, 3 from 0, 2 from 0], learned = "Inputs/kv-scheduler-4-3-2.json", kv_cache> : i64
// CHECK-NOT: classifier
// CHECK: %[[R:.*]]:4 = scf.index_switch
// CHECK: return %[[R]]#0, %[[R]]#1, %[[R]]#2, %[[CHOSEN]], %[[R]]#3
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 0, 2 from 0], learned = "Inputs/kv-scheduler-4-3-2.json", kv_cache>} {
  func.func @decode_b4(%tokens: tensor<1xi64>, %pos: i64, %kc: tensor<2x16x1x4xf32>, %vc: tensor<2x16x1x4xf32>)
      -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>) {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l, %kc, %vc : tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>
  }
  func.func @decode_b3(%tokens: tensor<1xi64>, %pos: i64, %kc: tensor<2x16x1x4xf32>, %vc: tensor<2x16x1x4xf32>)
      -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>) {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l, %kc, %vc : tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>
  }
  func.func @decode_b2(%tokens: tensor<1xi64>, %pos: i64, %kc: tensor<2x16x1x4xf32>, %vc: tensor<2x16x1x4xf32>)
      -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>) {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l, %kc, %vc : tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>
  }
}

// -----

// expected-error @+1 {{Inputs/kv-scheduler-4-3-2.json: the scheduler's precisions (4, 3, 2) differ from the schedule's #pmpd.schedule<prefill = 4, decode = [4 from 0, 2 from 0], learned = "Inputs/kv-scheduler-4-3-2.json", kv_cache>}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 2 from 0], learned = "Inputs/kv-scheduler-4-3-2.json", kv_cache>} {
}

// -----

// The classifiers read heads of the size they were trained on.
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 0, 2 from 0], learned = "Inputs/kv-scheduler-4-3-2.json", kv_cache>} {
  // expected-error @+1 {{the kv_cache scheduler's classifiers read heads of 4, but the KV cache's heads have 8}}
  func.func @decode_b4(%tokens: tensor<1xi64>, %pos: i64, %kc: tensor<2x16x1x8xf32>, %vc: tensor<2x16x1x8xf32>) -> tensor<1x32xf32> {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l : tensor<1x32xf32>
  }
  func.func @decode_b3(%tokens: tensor<1xi64>, %pos: i64, %kc: tensor<2x16x1x8xf32>, %vc: tensor<2x16x1x8xf32>) -> tensor<1x32xf32> {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l : tensor<1x32xf32>
  }
  func.func @decode_b2(%tokens: tensor<1xi64>, %pos: i64, %kc: tensor<2x16x1x8xf32>, %vc: tensor<2x16x1x8xf32>) -> tensor<1x32xf32> {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l : tensor<1x32xf32>
  }
}

// -----

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 0, 2 from 0], learned = "Inputs/kv-scheduler-4-3-2.json", kv_cache>} {
  // expected-error @+1 {{a kv_cache schedule reads the KV cache: the decode variants need one i64 or index position and two static tensor<LxMxHxDxf32> caches among their arguments; got '(tensor<1xi64>) -> tensor<1x32xf32>'}}
  func.func @decode_b4(%tokens: tensor<1xi64>) -> tensor<1x32xf32> {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l : tensor<1x32xf32>
  }
  func.func @decode_b3(%tokens: tensor<1xi64>) -> tensor<1x32xf32> {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l : tensor<1x32xf32>
  }
  func.func @decode_b2(%tokens: tensor<1xi64>) -> tensor<1x32xf32> {
    %l = tensor.empty() : tensor<1x32xf32>
    return %l : tensor<1x32xf32>
  }
}
