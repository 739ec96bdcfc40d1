
// The feature count of a result comes from the weight.
// CHECK-LABEL: func.func @static_features(
// CHECK: pmpd.qlinear {{.*}} -> tensor<?x4xf32>
// CHECK-NEXT: tensor.cast {{.*}} : tensor<?x4xf32> to tensor<?x?xf32>
func.func @static_features(%x: tensor<?x8xf32>, %w: tensor<4x8xf16>) -> tensor<?x?xf32> {
  %y = pmpd.qlinear %x, %w : tensor<?x8xf32>, tensor<4x8xf16> -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

