
func.func @tensor_weight_type(%x: tensor<4x32xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{a tensor weight must be fp16, got 'tensor<64x32xf32>'}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, tensor<64x32xf32> -> tensor<4x64xf32>
  return
}
