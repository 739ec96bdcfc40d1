
func.func @classifier_shape(%step: i64, %f: tensor<3xf32>) {
  // expected-error @+1 {{the classifier must have one row [bias, w_confidence, w_entropy, w_step] per transition, shape 2x4, got 'tensor<1x4xf32>'}}
  %b = pmpd.step_precision %step features(%f : tensor<3xf32>) schedule <prefill = 4, decode = [4 from 0, 3 from 8, 2 from 16], learned = "s.json"> : i64 {classifier = dense<0.0> : tensor<1x4xf32>}
  return
}
