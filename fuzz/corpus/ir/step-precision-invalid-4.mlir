
func.func @learned_without_classifier(%step: i64, %f: tensor<3xf32>) {
  // expected-error @+1 {{a learned schedule needs its classifier; pmpd-insert-switch-points reads it from 's.json'}}
  %b = pmpd.step_precision %step features(%f : tensor<3xf32>) schedule <prefill = 4, decode = [4 from 0, 2 from 8], learned = "s.json"> : i64
  return
}

