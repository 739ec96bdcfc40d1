
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @output_features(%x: tensor<?x32xf32>, %w: !w) {
  // expected-error @+1 {{result has 48 features but the weight has 64 rows}}
  %y = pmpd.qlinear %x, %w : tensor<?x32xf32>, !w -> tensor<?x48xf32>
  return
}

