
func.func @wrong_state(%step: i64, %f: tensor<2x4xf32>) {
  // expected-error @+1 {{the scheduler state must be 'tensor<3xf32>', got 'tensor<2x4xf32>'}}
  %b = pmpd.step_precision %step features(%f : tensor<2x4xf32>) schedule <prefill = 4, decode = [4 from 0, 2 from 8], learned = "s.json"> : i64
  return
}

