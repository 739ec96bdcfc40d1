// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

func.func @norm_rank(%x: tensor<32xf32>, %w: tensor<32xf16>) -> tensor<32xf32> {
  // expected-error @+1 {{input must be [tokens, hidden], got 'tensor<32xf32>'}}
  %y = pmpd.rms_norm %x, %w epsilon 1.0e-05 : tensor<32xf32>, tensor<32xf16> -> tensor<32xf32>
  return %y : tensor<32xf32>
}

// -----

func.func @norm_weight(%x: tensor<?x32xf32>, %w: tensor<16xf16>) -> tensor<?x32xf32> {
  // expected-error @+1 {{weight must be a vector of 32 elements, got 'tensor<16xf16>'}}
  %y = pmpd.rms_norm %x, %w epsilon 1.0e-05 : tensor<?x32xf32>, tensor<16xf16> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @norm_result(%x: tensor<2x32xf32>, %w: tensor<32xf16>) -> tensor<3x32xf32> {
  // expected-error @+1 {{result type 'tensor<3x32xf32>' differs from the input's 'tensor<2x32xf32>'}}
  %y = pmpd.rms_norm %x, %w epsilon 1.0e-05 : tensor<2x32xf32>, tensor<32xf16> -> tensor<3x32xf32>
  return %y : tensor<3x32xf32>
}

// -----

func.func @norm_epsilon(%x: tensor<?x32xf32>, %w: tensor<32xf16>) -> tensor<?x32xf32> {
  // expected-error @+1 {{epsilon must be positive, got 0}}
  %y = pmpd.rms_norm %x, %w epsilon 0.0 : tensor<?x32xf32>, tensor<32xf16> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @attention_heads(%q: tensor<?x3x8xf32>, %k: tensor<2x16x2x8xf32>, %s: index) -> tensor<?x24xf32> {
  // expected-error @+1 {{the 3 query heads are not a multiple of the 2 KV heads}}
  %a = pmpd.attention %q, %k, %k at %s layer 0 : tensor<?x3x8xf32>, tensor<2x16x2x8xf32> -> tensor<?x24xf32>
  return %a : tensor<?x24xf32>
}

// -----

func.func @attention_head_dim(%q: tensor<?x4x4xf32>, %k: tensor<2x16x2x8xf32>, %s: index) -> tensor<?x16xf32> {
  // expected-error @+1 {{query 'tensor<?x4x4xf32>' must have static heads of the caches' head_dim 8}}
  %a = pmpd.attention %q, %k, %k at %s layer 0 : tensor<?x4x4xf32>, tensor<2x16x2x8xf32> -> tensor<?x16xf32>
  return %a : tensor<?x16xf32>
}

// -----

func.func @attention_layer(%q: tensor<?x4x8xf32>, %k: tensor<2x16x2x8xf32>, %s: index) -> tensor<?x32xf32> {
  // expected-error @+1 {{layer 2 is outside the caches' 2 layers}}
  %a = pmpd.attention %q, %k, %k at %s layer 2 : tensor<?x4x8xf32>, tensor<2x16x2x8xf32> -> tensor<?x32xf32>
  return %a : tensor<?x32xf32>
}

// -----

func.func @attention_result(%q: tensor<?x4x8xf32>, %k: tensor<2x16x2x8xf32>, %s: index) -> tensor<?x16xf32> {
  // expected-error @+1 {{result must be [tokens, 32], got 'tensor<?x16xf32>'}}
  %a = pmpd.attention %q, %k, %k at %s layer 0 : tensor<?x4x8xf32>, tensor<2x16x2x8xf32> -> tensor<?x16xf32>
  return %a : tensor<?x16xf32>
}

// -----

func.func @attention_cache(%q: tensor<?x4x8xf32>, %k: tensor<2x?x2x8xf32>, %s: index) -> tensor<?x32xf32> {
  // expected-error @+1 {{the caches must be static [layers, positions, kv_heads, head_dim], got 'tensor<2x?x2x8xf32>'}}
  %a = pmpd.attention %q, %k, %k at %s layer 0 : tensor<?x4x8xf32>, tensor<2x?x2x8xf32> -> tensor<?x32xf32>
  return %a : tensor<?x32xf32>
}

// -----

func.func @attention_values(%q: tensor<?x4x8xf32>, %k: tensor<2x16x2x8xf32>, %v: tensor<2x8x2x8xf32>, %s: index) -> tensor<?x32xf32> {
  // expected-error @+1 {{failed to verify that all of {keys, values} have same type}}
  %a = "pmpd.attention"(%q, %k, %v, %s) {layer = 0 : i64} : (tensor<?x4x8xf32>, tensor<2x16x2x8xf32>, tensor<2x8x2x8xf32>, index) -> tensor<?x32xf32>
  return %a : tensor<?x32xf32>
}
