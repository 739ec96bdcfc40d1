// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

func.func @learned_without_features(%step: i64) {
  // expected-error @+1 {{a learned schedule needs the classifier's features}}
  %b = pmpd.step_precision %step schedule <prefill = 4, decode = [4 from 0], learned = "s.json"> : i64
  return
}

// -----

func.func @static_with_features(%step: i64, %f: tensor<4xf32>) {
  // expected-error @+1 {{a static schedule takes no features}}
  %b = pmpd.step_precision %step features(%f : tensor<4xf32>) schedule <prefill = 4, decode = [4 from 0]> : i64
  return
}

// -----

func.func @matrix_features(%step: i64, %f: tensor<2x4xf32>) {
  // expected-error @+1 {{features must be a vector, got 'tensor<2x4xf32>'}}
  %b = pmpd.step_precision %step features(%f : tensor<2x4xf32>) schedule <prefill = 4, decode = [4 from 0], learned = "s.json"> : i64
  return
}
