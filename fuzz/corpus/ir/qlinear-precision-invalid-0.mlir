
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @above_parent(%x: tensor<1x32xf32>, %w: !w) {
  // expected-error @+1 {{precision 5 bits is outside the weight's range [seed = 2, parent = 4]}}
  %y = pmpd.qlinear %x, %w precision <5> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  return
}

