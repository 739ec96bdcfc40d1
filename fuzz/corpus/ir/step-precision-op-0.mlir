
// CHECK-LABEL: func.func @static_schedule
// CHECK: %[[B:.*]] = pmpd.step_precision %{{.*}} schedule <prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]> : i64
// CHECK: return %[[B]]
func.func @static_schedule(%step: i64) -> i32 {
  %bits = pmpd.step_precision %step schedule <prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]> : i64
  return %bits : i32
}

// CHECK-LABEL: func.func @learned_schedule
// CHECK: pmpd.step_precision %{{.*}} features(%{{.*}} : tensor<3xf32>) schedule <prefill = 4, decode = [4 from 0, 2 from 16], learned = "s.json"> : i64 {classifier = dense<{{\[\[}}-1.000000e+00, 2.000000e+00, 0.000000e+00, 5.000000e-01]]> : tensor<1x4xf32>}
func.func @learned_schedule(%step: i64, %state: tensor<3xf32>) -> i32 {
  %bits = pmpd.step_precision %step features(%state : tensor<3xf32>)
      schedule <prefill = 4, decode = [4 from 0, 2 from 16], learned = "s.json"> : i64
      {classifier = dense<[[-1.0, 2.0, 0.0, 0.5]]> : tensor<1x4xf32>}
  return %bits : i32
}
