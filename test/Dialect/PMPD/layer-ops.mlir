// RUN: pmpd-opt %s | pmpd-opt | FileCheck %s
// RUN: pmpd-opt %s --canonicalize | FileCheck %s --check-prefix=CANON

// CHECK-LABEL: func.func @layer
// CHECK: %[[N:.*]] = pmpd.rms_norm %arg0, %arg1 epsilon 1.000000e-05 : tensor<?x32xf32>, tensor<32xf16> -> tensor<?x32xf32>
// CHECK: pmpd.attention %arg2, %arg3, %arg4 at %arg5 layer 1 : tensor<?x4x8xf32>, tensor<2x16x2x8xf32> -> tensor<?x32xf32>
func.func @layer(%x: tensor<?x32xf32>, %w: tensor<32xf16>, %q: tensor<?x4x8xf32>,
                 %k: tensor<2x16x2x8xf32>, %v: tensor<2x16x2x8xf32>,
                 %start: index) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %n = pmpd.rms_norm %x, %w epsilon 1.0e-05 : tensor<?x32xf32>, tensor<32xf16> -> tensor<?x32xf32>
  %a = pmpd.attention %q, %k, %v at %start layer 1 : tensor<?x4x8xf32>, tensor<2x16x2x8xf32> -> tensor<?x32xf32>
  return %n, %a : tensor<?x32xf32>, tensor<?x32xf32>
}

// A decode token's static shape reaches through both ops: the casts that
// erased it fold into them and come back after.
// CANON-LABEL: func.func @refine
// CANON: %[[N:.*]] = pmpd.rms_norm %arg0, %arg1 epsilon {{.*}} : tensor<1x32xf32>, tensor<32xf16> -> tensor<1x32xf32>
// CANON-NEXT: tensor.cast %[[N]] : tensor<1x32xf32> to tensor<?x32xf32>
// CANON-NEXT: %[[A:.*]] = pmpd.attention %arg2, {{.*}} : tensor<1x4x8xf32>, tensor<2x16x2x8xf32> -> tensor<1x32xf32>
// CANON-NEXT: tensor.cast %[[A]] : tensor<1x32xf32> to tensor<?x32xf32>
func.func @refine(%x1: tensor<1x32xf32>, %w: tensor<32xf16>, %q1: tensor<1x4x8xf32>,
                  %k: tensor<2x16x2x8xf32>, %v: tensor<2x16x2x8xf32>,
                  %start: index) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %x = tensor.cast %x1 : tensor<1x32xf32> to tensor<?x32xf32>
  %q = tensor.cast %q1 : tensor<1x4x8xf32> to tensor<?x4x8xf32>
  %n = pmpd.rms_norm %x, %w epsilon 1.0e-05 : tensor<?x32xf32>, tensor<32xf16> -> tensor<?x32xf32>
  %a = pmpd.attention %q, %k, %v at %start layer 0 : tensor<?x4x8xf32>, tensor<2x16x2x8xf32> -> tensor<?x32xf32>
  return %n, %a : tensor<?x32xf32>, tensor<?x32xf32>
}
