
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @leading_dims(%x: tensor<4x32xf32>, %w: !w) {
  // expected-error @+1 {{result dimension 0 (5) differs from input's (4)}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, !w -> tensor<5x64xf32>
  return
}

