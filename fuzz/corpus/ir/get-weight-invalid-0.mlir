
func.func @missing() {
  // expected-error @+1 {{'pmpd.get_weight' op 'nowhere' does not name a pmpd.weight}}
  %w = pmpd.get_weight @nowhere : tensor<4xf16>
  return
}

