
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @input_features(%x: tensor<?x16xf32>, %w: !w) {
  // expected-error @+1 {{input has 16 features but the weight has 32 columns}}
  %y = pmpd.qlinear %x, %w : tensor<?x16xf32>, !w -> tensor<?x64xf32>
  return
}

