// RUN: pmpd-opt %s | pmpd-opt | FileCheck %s
// RUN: pmpd-opt %s --mlir-print-op-generic | pmpd-opt | FileCheck %s

// CHECK-LABEL: func.func @static_schedule
// CHECK: %[[B:.*]] = pmpd.step_precision %{{.*}} schedule <prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]> : i64
// CHECK: return %[[B]]
func.func @static_schedule(%step: i64) -> i32 {
  %bits = pmpd.step_precision %step schedule <prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]> : i64
  return %bits : i32
}

// CHECK-LABEL: func.func @learned_schedule
// CHECK: pmpd.step_precision %{{.*}} features(%{{.*}} : tensor<8xf32>) schedule <prefill = 4, decode = [4 from 0, 2 from 16], learned = "s.json"> : i64
func.func @learned_schedule(%step: i64, %f: tensor<8xf32>) -> i32 {
  %bits = pmpd.step_precision %step features(%f : tensor<8xf32>)
      schedule <prefill = 4, decode = [4 from 0, 2 from 16], learned = "s.json"> : i64
  return %bits : i32
}
