// RUN: pmpd-opt %s --pmpd-thread-weights-buffer --pmpd-lower-step-precision --pmpd-lower-to-cpu --split-input-file --verify-diagnostics

pmpd.weight @q = "q" : !pmpd.qweight<16x32, parent = 4, seed = 2>
func.func @unbound(%x: tensor<1x32xf32>) -> tensor<1x16xf32> {
  %w = pmpd.get_weight @q : !pmpd.qweight<16x32, parent = 4, seed = 2>
  // expected-error @+1 {{weight 'q' is not bound to a weights file (no byte offsets)}}
  %y = pmpd.qlinear %x, %w precision <4> : tensor<1x32xf32>, !pmpd.qweight<16x32, parent = 4, seed = 2> -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// -----

pmpd.weight @q = "q" at [0, 256, 384, 640] : !pmpd.qweight<16x32, parent = 4, seed = 2>
func.func @unassigned(%x: tensor<1x32xf32>) -> tensor<1x16xf32> {
  %w = pmpd.get_weight @q : !pmpd.qweight<16x32, parent = 4, seed = 2>
  // expected-error @+1 {{has no precision; run pmpd-specialize-phases before lowering}}
  %y = pmpd.qlinear %x, %w : tensor<1x32xf32>, !pmpd.qweight<16x32, parent = 4, seed = 2> -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// -----

func.func @weight_argument(%x: tensor<1x32xf32>, %w: !pmpd.qweight<16x32, parent = 4, seed = 2>) -> tensor<1x16xf32> {
  // expected-error @+1 {{weight must come from pmpd.get_weight to be lowered to the CPU kernels}}
  %y = pmpd.qlinear %x, %w precision <4> : tensor<1x32xf32>, !pmpd.qweight<16x32, parent = 4, seed = 2> -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// -----

pmpd.weight @q = "q" at [0, 256, 384, 640] : !pmpd.qweight<16x32, parent = 4, seed = 2>
func.func @half_activations(%x: tensor<1x32xf16>) -> tensor<1x16xf16> {
  %w = pmpd.get_weight @q : !pmpd.qweight<16x32, parent = 4, seed = 2>
  // expected-error @+1 {{the CPU kernels take f32 activations, got 'f16'}}
  %y = pmpd.qlinear %x, %w precision <4> : tensor<1x32xf16>, !pmpd.qweight<16x32, parent = 4, seed = 2> -> tensor<1x16xf16>
  return %y : tensor<1x16xf16>
}

// -----

pmpd.weight @n = "n" : tensor<32xf16>
func.func @unbound_tensor() -> tensor<32xf16> {
  // expected-error @+1 {{weight 'n' is not bound to a weights file (no byte offsets)}}
  %n = pmpd.get_weight @n : tensor<32xf16>
  return %n : tensor<32xf16>
}
