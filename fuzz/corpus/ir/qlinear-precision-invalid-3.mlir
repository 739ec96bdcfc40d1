
func.func @bits_of_fp16(%x: tensor<1x32xf32>, %w: tensor<64x32xf16>) {
  // expected-error @+1 {{an fp16 weight runs at precision 16, not 4}}
  %y = pmpd.qlinear %x, %w precision <4> : tensor<1x32xf32>, tensor<64x32xf16> -> tensor<1x64xf32>
  return
}

