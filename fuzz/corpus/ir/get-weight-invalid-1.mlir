
func.func @not_a_weight() { return }
func.func @use() {
  // expected-error @+1 {{'not_a_weight' does not name a pmpd.weight}}
  %w = pmpd.get_weight @not_a_weight : tensor<4xf16>
  return
}

