// RUN: pmpd-opt %s --pmpd-lower-step-precision | FileCheck %s

// A kv_cache schedule's switch point: stage i has started when the step
// reaches the first step its classifiers wrote into state[i] (+inf: never);
// the last stage reached gives the bits.

// CHECK-LABEL: func.func @kv_cache_bits(
// CHECK-SAME: %[[STEP:.*]]: i64, %[[STATE:.*]]: tensor<3xf32>)
// CHECK: %[[FIRST3:.*]] = tensor.extract %[[STATE]][%c1{{.*}}] : tensor<3xf32>
// CHECK: %[[S3:.*]] = arith.sitofp %[[STEP]] : i64 to f32
// CHECK: %[[AT3:.*]] = arith.cmpf oge, %[[S3]], %[[FIRST3]] : f32
// CHECK: %[[B3:.*]] = arith.select %[[AT3]], %c3_i32, %c4_i32 : i32
// CHECK: %[[FIRST2:.*]] = tensor.extract %[[STATE]][%c2{{.*}}] : tensor<3xf32>
// CHECK: %[[S2:.*]] = arith.sitofp %[[STEP]] : i64 to f32
// CHECK: %[[AT2:.*]] = arith.cmpf oge, %[[S2]], %[[FIRST2]] : f32
// CHECK: %[[B2:.*]] = arith.select %[[AT2]], %c2_i32, %[[B3]] : i32
// CHECK: return %[[B2]] : i32
func.func @kv_cache_bits(%step: i64, %state: tensor<3xf32>) -> i32 {
  %b = pmpd.step_precision %step features(%state : tensor<3xf32>)
      schedule <prefill = 4, decode = [4 from 0, 3 from 0, 2 from 0], learned = "kv.json", kv_cache> : i64
  return %b : i32
}
