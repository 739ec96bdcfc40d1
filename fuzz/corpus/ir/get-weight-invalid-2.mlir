
// expected-note @+1 {{weight declared here}}
pmpd.weight @q = "q" : !pmpd.qweight<64x32, parent = 4, seed = 2>
func.func @wrong_type() {
  // expected-error @+1 {{result type '!pmpd.qweight<64x32, parent = 3, seed = 2>' does not match the type '!pmpd.qweight<64x32, parent = 4, seed = 2>' of weight 'q'}}
  %w = pmpd.get_weight @q : !pmpd.qweight<64x32, parent = 3, seed = 2>
  return
}

