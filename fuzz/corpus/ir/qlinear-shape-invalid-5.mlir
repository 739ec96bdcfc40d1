
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @bias_size(%x: tensor<4x32xf32>, %w: !w, %b: tensor<32xf32>) {
  // expected-error @+1 {{bias must be a vector of 64 elements, got 'tensor<32xf32>'}}
  %y = pmpd.qlinear %x, %w bias(%b : tensor<32xf32>) : tensor<4x32xf32>, !w -> tensor<4x64xf32>
  return
}

