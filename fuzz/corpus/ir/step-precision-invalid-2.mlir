
func.func @static_with_classifier(%step: i64) {
  // expected-error @+1 {{a static schedule takes no features or classifier}}
  %b = pmpd.step_precision %step schedule <prefill = 4, decode = [4 from 0]> : i64 {classifier = dense<0.0> : tensor<1x4xf32>}
  return
}

