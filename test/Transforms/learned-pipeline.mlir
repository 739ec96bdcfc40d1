// The explicit form of a learned schedule (stages, then the file), as
// manifests record it, runs through the whole pipeline.
// RUN: pmpd-opt %s --pmpd-phase-pipeline='schedule=prefill=4;decode=4@0,3@8,2@12;learned=%S/Inputs/scheduler-4-3-2.json' \
// RUN:   2>&1 | FileCheck %s --check-prefix=EXPLICIT
// EXPLICIT: module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 8, 2 from 12], learned = "{{.*}}Inputs/scheduler-4-3-2.json">}
// EXPLICIT: func.func @decode(%{{.*}}: i64, %{{.*}}: tensor<1xi64>, %{{.*}}: tensor<3xf32>) -> (tensor<1x8xf32>, tensor<3xf32>, i32)
// EXPLICIT: pmpd.step_precision {{.*}} {classifier = dense<{{.*}}> : tensor<2x4xf32>}
module {
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  func.func @forward(%tokens: tensor<?xi64>) -> tensor<?x8xf32> {
    %c0 = arith.constant 0 : index
    %n = tensor.dim %tokens, %c0 : tensor<?xi64>
    %x = tensor.empty(%n) : tensor<?x8xf32>
    %w = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %y = pmpd.qlinear %x, %w : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}
