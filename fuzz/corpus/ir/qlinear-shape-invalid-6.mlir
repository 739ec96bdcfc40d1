
func.func @tensor_weight_rank(%x: tensor<4x32xf32>, %w: tensor<2x64x32xf16>) {
  // expected-error @+1 {{weight tensor must be a matrix, got 'tensor<2x64x32xf16>'}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, tensor<2x64x32xf16> -> tensor<4x64xf32>
  return
}

