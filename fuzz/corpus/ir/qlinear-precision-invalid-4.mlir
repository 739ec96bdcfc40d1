
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @unsupported_width(%x: tensor<1x32xf32>, %w: !w) {
  // expected-error @+1 {{unsupported precision 11 bits}}
  %y = pmpd.qlinear %x, %w precision <11> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  return
}
