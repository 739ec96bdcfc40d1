// RUN: pmpd-opt %s --pmpd-decompose-layer-ops --canonicalize | FileCheck %s

// The layer ops as linalg on tensors: RMSNorm as a sum of squares per row
// and an elementwise scaling; attention as the slices of layer 1 of the
// caches [0, start + n), the scores, the masked max, the exponentials, their
// sum and the weighted sum of the values, with query head h reading KV head
// h / 2.

// CHECK-LABEL: func.func @layer(
// CHECK-SAME: %[[X:[^:]*]]: tensor<1x32xf32>, %[[W:[^:]*]]: tensor<32xf16>, %[[Q:[^:]*]]: tensor<1x4x8xf32>, %[[K:[^:]*]]: tensor<2x16x2x8xf32>, %[[V:[^:]*]]: tensor<2x16x2x8xf32>, %[[START:[^:]*]]: index)
// CHECK-NOT: pmpd.
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 0.353553385 : f32
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK-DAG: %[[H:.*]] = arith.constant 3.200000e+01 : f32
// CHECK: %[[SQUARES:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<1x32xf32>) outs(%{{.*}} : tensor<1xf32>)
// CHECK: arith.mulf
// CHECK: %[[NORMED:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[SQUARES]], %[[W]] : tensor<1x32xf32>, tensor<1xf32>, tensor<32xf16>)
// CHECK: arith.divf %{{.*}}, %[[H]]
// CHECK: arith.addf %{{.*}}, %[[EPS]]
// CHECK: math.rsqrt
// CHECK: arith.extf
// CHECK: %[[T:.*]] = arith.addi %[[START]], %c1 : index
// CHECK: %[[KEYS:.*]] = tensor.extract_slice %[[K]][1, 0, 0, 0] [1, %[[T]], 2, 8] [1, 1, 1, 1] : tensor<2x16x2x8xf32> to tensor<?x2x8xf32>
// CHECK: %[[VALUES:.*]] = tensor.extract_slice %[[V]][1, 0, 0, 0] [1, %[[T]], 2, 8] [1, 1, 1, 1] : tensor<2x16x2x8xf32> to tensor<?x2x8xf32>
// CHECK: %[[GROUPED:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2], [3]] output_shape [1, 2, 2, 8] : tensor<1x4x8xf32> into tensor<1x2x2x8xf32>
// CHECK: %[[SCORES:.*]] = linalg.generic {{.*}} ins(%[[GROUPED]], %[[KEYS]] : tensor<1x2x2x8xf32>, tensor<?x2x8xf32>) outs(%{{.*}} : tensor<2x2x1x?xf32>)
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} ins(%[[SCORES]] : tensor<2x2x1x?xf32>)
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: arith.cmpi ule, %{{.*}}, %[[START]]
// CHECK: arith.maximumf
// CHECK: %[[EXP:.*]] = linalg.generic {{.*}} ins(%[[SCORES]], %[[MAX]] : tensor<2x2x1x?xf32>, tensor<2x2x1xf32>)
// CHECK: math.exp
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[EXP]] : tensor<2x2x1x?xf32>) outs(%{{.*}} : tensor<2x2x1xf32>)
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[EXP]], %[[SUM]], %[[VALUES]] : tensor<2x2x1x?xf32>, tensor<2x2x1xf32>, tensor<?x2x8xf32>) outs(%{{.*}} : tensor<1x2x2x8xf32>)
// CHECK: %[[ATTENDED:.*]] = tensor.collapse_shape %[[OUT]] {{\[}}[0], [1, 2, 3]] : tensor<1x2x2x8xf32> into tensor<1x32xf32>
// CHECK: return %[[NORMED]], %[[ATTENDED]]
func.func @layer(%x: tensor<1x32xf32>, %w: tensor<32xf16>, %q: tensor<1x4x8xf32>,
                 %k: tensor<2x16x2x8xf32>, %v: tensor<2x16x2x8xf32>,
                 %start: index) -> (tensor<1x32xf32>, tensor<1x32xf32>) {
  %n = pmpd.rms_norm %x, %w epsilon 1.0e-05 : tensor<1x32xf32>, tensor<32xf16> -> tensor<1x32xf32>
  %a = pmpd.attention %q, %k, %v at %start layer 1 : tensor<1x4x8xf32>, tensor<2x16x2x8xf32> -> tensor<1x32xf32>
  return %n, %a : tensor<1x32xf32>, tensor<1x32xf32>
}

// Any number of tokens: the token count comes from the query at run time.
// CHECK-LABEL: func.func @prefill(
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0 : tensor<?x4x8xf32>
// CHECK: %[[T:.*]] = arith.addi %arg3, %[[N]] : index
// CHECK: tensor.extract_slice %arg1[0, 0, 0, 0] [1, %[[T]], 2, 8]
// CHECK: tensor.collapse_shape {{.*}} : tensor<?x2x2x8xf32> into tensor<?x32xf32>
func.func @prefill(%q: tensor<?x4x8xf32>, %k: tensor<2x16x2x8xf32>,
                   %v: tensor<2x16x2x8xf32>, %start: index) -> tensor<?x32xf32> {
  %a = pmpd.attention %q, %k, %v at %start layer 0 : tensor<?x4x8xf32>, tensor<2x16x2x8xf32> -> tensor<?x32xf32>
  return %a : tensor<?x32xf32>
}
