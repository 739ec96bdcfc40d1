// RUN: pmpd-opt %s --split-input-file --pmpd-assign-precision --verify-diagnostics

// Each case records its schedule on the module, so one RUN line checks them
// all; the schedule and overrides options are tested in
// assign-precision-options.mlir.

// expected-error @+1 {{no schedule: give pmpd-assign-precision a schedule=prefill=P;decode=B0@0,... option or the module a pmpd.schedule attribute}}
module {
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
}

// -----

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 5, decode = [4 from 0]>} {
  // expected-error @+2 {{prefill asks for 5 bits, above the parent of weight @layers.0.q_proj, which serves 2 to 4 bits}}
  // expected-note @+1 {{1 more projection weight cannot serve 5 bits either}}
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @layers.1.q_proj = "model.layers.1.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w0 = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    // expected-note @+1 {{projection using it here}}
    %y0 = pmpd.qlinear %x, %w0 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %w1 = pmpd.get_weight @layers.1.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %y1 = pmpd.qlinear %y0, %w1 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    return %y1 : tensor<?x8xf32>
  }
}

// -----

// Only the weight whose seed is too high is named.
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]>} {
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  // expected-error @+1 {{decode stage 2@128 asks for 2 bits, below the seed of weight @layers.1.q_proj, which serves 3 to 4 bits}}
  pmpd.weight @layers.1.q_proj = "model.layers.1.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 3>
  func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w0 = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %y0 = pmpd.qlinear %x, %w0 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %w1 = pmpd.get_weight @layers.1.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 3>
    // expected-note @+1 {{projection using it here}}
    %y1 = pmpd.qlinear %y0, %w1 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 3> -> tensor<?x8xf32>
    return %y1 : tensor<?x8xf32>
  }
}

// -----

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 16, decode = [4 from 0]>} {
  // expected-error @+1 {{fp16 asked of a packed-only model: weight @layers.0.q_proj has no fp16 copy (asked by prefill)}}
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w0 = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    // expected-note @+1 {{projection using it here}}
    %y0 = pmpd.qlinear %x, %w0 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    return %y0 : tensor<?x8xf32>
  }
}

// -----

// An fp16 model serves 16 bits only; lm_head is not what is reported.
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 16, decode = [16 from 0, 4 from 32]>} {
  // expected-error @+1 {{decode stage 4@32 asks for 4 bits but weight @layers.0.q_proj has no packed any-precision copy; quantize the model with pmpd-quantize}}
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf16>
  pmpd.weight @lm_head = "lm_head.weight" : tensor<32x8xf16>
  func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x32xf32> {
    %w0 = pmpd.get_weight @layers.0.q_proj : tensor<8x8xf16>
    // expected-note @+1 {{projection using it here}}
    %y0 = pmpd.qlinear %x, %w0 : tensor<?x8xf32>, tensor<8x8xf16> -> tensor<?x8xf32>
    %wl = pmpd.get_weight @lm_head : tensor<32x8xf16>
    %l = pmpd.qlinear %y0, %wl : tensor<?x8xf32>, tensor<32x8xf16> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}

// -----

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} {
  func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>, %w: !pmpd.qweight<8x8, parent = 4, seed = 2>) -> tensor<?x8xf32> {
    // expected-error @+1 {{weight must be a pmpd.get_weight of a declared pmpd.weight}}
    %y = pmpd.qlinear %x, %w : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} {
  // expected-error @+1 {{module is already specialized into phases (@prefill); assign precisions before pmpd-specialize-phases}}
  func.func @prefill(%tokens: tensor<?xi64>) attributes {pmpd.phase = #pmpd.phase<prefill>, pmpd.precision = #pmpd.precision<4>} {
    return
  }
}
