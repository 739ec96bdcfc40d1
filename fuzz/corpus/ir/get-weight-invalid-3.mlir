
// expected-note @+1 {{weight declared here}}
pmpd.weight @e = "e" : tensor<100x32xf16>
func.func @wrong_shape() {
  // expected-error @+1 {{does not match the type 'tensor<100x32xf16>' of weight 'e'}}
  %w = pmpd.get_weight @e : tensor<100x16xf16>
  return
}
