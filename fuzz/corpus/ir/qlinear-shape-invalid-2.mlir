
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @rank(%x: tensor<4x32xf32>, %w: !w) {
  // expected-error @+1 {{result rank 3 differs from input rank 2}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, !w -> tensor<1x4x64xf32>
  return
}

