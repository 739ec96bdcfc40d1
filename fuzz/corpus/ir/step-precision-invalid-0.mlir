
func.func @learned_without_features(%step: i64) {
  // expected-error @+1 {{a learned schedule needs the scheduler state as features}}
  %b = pmpd.step_precision %step schedule <prefill = 4, decode = [4 from 0, 2 from 8], learned = "s.json"> : i64
  return
}

