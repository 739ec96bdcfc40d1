// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

func.func @missing() {
  // expected-error @+1 {{'pmpd.get_weight' op 'nowhere' does not name a pmpd.weight}}
  %w = pmpd.get_weight @nowhere : tensor<4xf16>
  return
}

// -----

func.func @not_a_weight() { return }
func.func @use() {
  // expected-error @+1 {{'not_a_weight' does not name a pmpd.weight}}
  %w = pmpd.get_weight @not_a_weight : tensor<4xf16>
  return
}

// -----

// expected-note @+1 {{weight declared here}}
pmpd.weight @q = "q" : !pmpd.qweight<64x32, parent = 4, seed = 2>
func.func @wrong_type() {
  // expected-error @+1 {{result type '!pmpd.qweight<64x32, parent = 3, seed = 2>' does not match the type '!pmpd.qweight<64x32, parent = 4, seed = 2>' of weight 'q'}}
  %w = pmpd.get_weight @q : !pmpd.qweight<64x32, parent = 3, seed = 2>
  return
}

// -----

// expected-note @+1 {{weight declared here}}
pmpd.weight @e = "e" : tensor<100x32xf16>
func.func @wrong_shape() {
  // expected-error @+1 {{does not match the type 'tensor<100x32xf16>' of weight 'e'}}
  %w = pmpd.get_weight @e : tensor<100x16xf16>
  return
}
