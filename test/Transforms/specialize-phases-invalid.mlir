// RUN: pmpd-opt %s --split-input-file --pmpd-specialize-phases --verify-diagnostics

// expected-error @+1 {{pmpd-specialize-phases needs the module's pmpd.schedule; run pmpd-assign-precision first}}
module {
  func.func @forward(%tokens: tensor<?xi64>) { return }
}

// -----

// Running the pass twice: the second run finds no @forward.
// expected-error @+1 {{no @forward to specialize}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} {
  // expected-note @+1 {{the module is already specialized: @prefill is here}}
  func.func @prefill(%tokens: tensor<?xi64>) attributes {pmpd.phase = #pmpd.phase<prefill>, pmpd.precision = #pmpd.precision<4>} { return }
  func.func @decode_b4(%tokens: tensor<1xi64>) attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<4>} { return }
}

// -----

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} {
  // expected-error @+1 {{@forward must have a body and take the tokens, tensor<?xi64>, as its first argument}}
  func.func @forward(%x: tensor<?x8xf32>) { return }
}

// -----

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} {
  // expected-error @+1 {{@forward must have a body}}
  func.func private @forward(%tokens: tensor<?xi64>)
}

// -----

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 8]>} {
  func.func @forward(%tokens: tensor<?xi64>) { return }
  // expected-error @+1 {{@decode_b3 already exists; pmpd-specialize-phases creates it from @forward}}
  func.func @decode_b3(%tokens: tensor<1xi64>) { return }
}

// -----

// A schedule written by hand is checked as pmpd-assign-precision would.
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 2 from 8]>} {
  // expected-error @+1 {{decode stage 2@8 asks for 2 bits, below the seed of weight @layers.0.q_proj, which serves 3 to 4 bits}}
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 3>
  func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 3>
    // expected-note @+1 {{projection using it here}}
    %y = pmpd.qlinear %x, %w : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 3> -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

// So is a fixed precision written by hand.
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} {
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 3>
  func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 3>
    // expected-error @+1 {{fixed pmpd.precision asks for 8 bits, above the parent of weight @layers.0.q_proj, which serves 3 to 4 bits}}
    %y = pmpd.qlinear %x, %w {pmpd.precision = #pmpd.precision<8>} : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 3> -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
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
