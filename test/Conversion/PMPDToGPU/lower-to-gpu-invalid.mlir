// RUN: pmpd-opt %s --pmpd-thread-weights-buffer --pmpd-lower-to-gpu --split-input-file --verify-diagnostics

// expected-error @+1 {{no gpu.binary @pmpd_kernels with the projection kernels in the module}}
module {
  pmpd.weight @q = "q" at [0, 256, 384, 640] : !pmpd.qweight<40x32, parent = 4, seed = 2>
}

// -----

gpu.binary @pmpd_kernels [#gpu.object<#nvvm.target<chip = "sm_90">, "">]
pmpd.weight @q = "q" : !pmpd.qweight<16x32, parent = 4, seed = 2>
func.func @unbound(%x: tensor<1x32xf32>) -> tensor<1x16xf32> {
  %w = pmpd.get_weight @q : !pmpd.qweight<16x32, parent = 4, seed = 2>
  // expected-error @+1 {{weight 'q' is not bound to a weights file (no byte offsets)}}
  %y = pmpd.qlinear %x, %w precision <4> : tensor<1x32xf32>, !pmpd.qweight<16x32, parent = 4, seed = 2> -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// -----

gpu.binary @pmpd_kernels [#gpu.object<#nvvm.target<chip = "sm_90">, "">]
pmpd.weight @q = "q" at [0, 256, 384, 640] : !pmpd.qweight<16x32, parent = 4, seed = 2>
func.func @half_activations(%x: tensor<1x32xf16>) -> tensor<1x16xf16> {
  %w = pmpd.get_weight @q : !pmpd.qweight<16x32, parent = 4, seed = 2>
  // expected-error @+1 {{the GPU kernels take f32 activations, got 'f16'}}
  %y = pmpd.qlinear %x, %w precision <4> : tensor<1x32xf16>, !pmpd.qweight<16x32, parent = 4, seed = 2> -> tensor<1x16xf16>
  return %y : tensor<1x16xf16>
}
