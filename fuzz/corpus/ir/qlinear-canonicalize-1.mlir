
// Chained projections become static end to end: the cast between them folds
// too, and so does a cast of the bias.
// CHECK-LABEL: func.func @chain(
// CHECK-SAME: %[[X:[^:]*]]: tensor<1x8xf32>, %[[W1:[^:]*]]: tensor<8x8xf16>, %[[W2:[^:]*]]: tensor<4x8xf16>, %[[B:[^:]*]]: tensor<4xf32>)
// CHECK-NEXT: %[[Y1:.*]] = pmpd.qlinear %[[X]], %[[W1]] : tensor<1x8xf32>, tensor<8x8xf16> -> tensor<1x8xf32>
// CHECK-NEXT: %[[Y2:.*]] = pmpd.qlinear %[[Y1]], %[[W2]] bias(%[[B]] : tensor<4xf32>) : tensor<1x8xf32>, tensor<4x8xf16> -> tensor<1x4xf32>
// CHECK-NEXT: return %[[Y2]] : tensor<1x4xf32>
func.func @chain(%x: tensor<1x8xf32>, %w1: tensor<8x8xf16>, %w2: tensor<4x8xf16>, %b: tensor<4xf32>) -> tensor<1x4xf32> {
  %c = tensor.cast %x : tensor<1x8xf32> to tensor<?x8xf32>
  %y1 = pmpd.qlinear %c, %w1 : tensor<?x8xf32>, tensor<8x8xf16> -> tensor<?x8xf32>
  %bc = tensor.cast %b : tensor<4xf32> to tensor<?xf32>
  %y2 = pmpd.qlinear %y1, %w2 bias(%bc : tensor<?xf32>) : tensor<?x8xf32>, tensor<4x8xf16> -> tensor<?x4xf32>
  %r = tensor.cast %y2 : tensor<?x4xf32> to tensor<1x4xf32>
  return %r : tensor<1x4xf32>
}

