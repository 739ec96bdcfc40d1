// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @above_parent(%x: tensor<1x32xf32>, %w: !w) {
  // expected-error @+1 {{precision 5 bits is outside the weight's range [seed = 2, parent = 4]}}
  %y = pmpd.qlinear %x, %w precision <5> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  return
}

// -----

!w = !pmpd.qweight<64x32, parent = 4, seed = 3>

func.func @below_seed(%x: tensor<1x32xf32>, %w: !w) {
  // expected-error @+1 {{precision 2 bits is outside the weight's range [seed = 3, parent = 4]}}
  %y = pmpd.qlinear %x, %w precision <2> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  return
}

// -----

!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @fp16_of_packed(%x: tensor<1x32xf32>, %w: !w) {
  // expected-error @+1 {{fp16 precision requested of a packed-only weight}}
  %y = pmpd.qlinear %x, %w precision <16> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  return
}

// -----

func.func @bits_of_fp16(%x: tensor<1x32xf32>, %w: tensor<64x32xf16>) {
  // expected-error @+1 {{an fp16 weight runs at precision 16, not 4}}
  %y = pmpd.qlinear %x, %w precision <4> : tensor<1x32xf32>, tensor<64x32xf16> -> tensor<1x64xf32>
  return
}

// -----

!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @unsupported_width(%x: tensor<1x32xf32>, %w: !w) {
  // expected-error @+1 {{unsupported precision 11 bits}}
  %y = pmpd.qlinear %x, %w precision <11> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  return
}
