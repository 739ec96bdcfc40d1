
!w = !pmpd.qweight<64x32, parent = 4, seed = 3>

func.func @below_seed(%x: tensor<1x32xf32>, %w: !w) {
  // expected-error @+1 {{precision 2 bits is outside the weight's range [seed = 3, parent = 4]}}
  %y = pmpd.qlinear %x, %w precision <2> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  return
}

