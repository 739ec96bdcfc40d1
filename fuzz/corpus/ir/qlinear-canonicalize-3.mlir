
// A cast that adds information (a dynamic to a static shape) is a check, not
// an erasure: it does not fold, and a projection with nothing to refine is
// left alone.
// CHECK-LABEL: func.func @no_fold(
// CHECK-NEXT: %[[C:.*]] = tensor.cast %{{.*}} : tensor<?x8xf32> to tensor<2x8xf32>
// CHECK-NEXT: pmpd.qlinear %[[C]], %{{.*}} : tensor<2x8xf32>, tensor<4x8xf16> -> tensor<2x4xf32>
// CHECK-NEXT: pmpd.qlinear %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<4x8xf16> -> tensor<?x4xf32>
func.func @no_fold(%x: tensor<?x8xf32>, %w: tensor<4x8xf16>) -> (tensor<2x4xf32>, tensor<?x4xf32>) {
  %c = tensor.cast %x : tensor<?x8xf32> to tensor<2x8xf32>
  %y = pmpd.qlinear %c, %w : tensor<2x8xf32>, tensor<4x8xf16> -> tensor<2x4xf32>
  %z = pmpd.qlinear %x, %w : tensor<?x8xf32>, tensor<4x8xf16> -> tensor<?x4xf32>
  return %y, %z : tensor<2x4xf32>, tensor<?x4xf32>
}
