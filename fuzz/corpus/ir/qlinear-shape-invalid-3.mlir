
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @element_type(%x: tensor<4x32xf32>, %w: !w) {
  // expected-error @+1 {{result element type 'f16' differs from input's 'f32'}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, !w -> tensor<4x64xf16>
  return
}

