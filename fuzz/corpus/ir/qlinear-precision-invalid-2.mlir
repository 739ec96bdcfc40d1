
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @fp16_of_packed(%x: tensor<1x32xf32>, %w: !w) {
  // expected-error @+1 {{fp16 precision requested of a packed-only weight}}
  %y = pmpd.qlinear %x, %w precision <16> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  return
}

