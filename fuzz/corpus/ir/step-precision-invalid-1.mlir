
func.func @static_with_features(%step: i64, %f: tensor<3xf32>) {
  // expected-error @+1 {{a static schedule takes no features or classifier}}
  %b = pmpd.step_precision %step features(%f : tensor<3xf32>) schedule <prefill = 4, decode = [4 from 0]> : i64
  return
}

