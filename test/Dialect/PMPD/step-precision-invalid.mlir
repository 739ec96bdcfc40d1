// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

func.func @learned_without_features(%step: i64) {
  // expected-error @+1 {{a learned schedule needs the scheduler state as features}}
  %b = pmpd.step_precision %step schedule <prefill = 4, decode = [4 from 0, 2 from 8], learned = "s.json"> : i64
  return
}

// -----

func.func @static_with_features(%step: i64, %f: tensor<3xf32>) {
  // expected-error @+1 {{a static schedule takes no features or classifier}}
  %b = pmpd.step_precision %step features(%f : tensor<3xf32>) schedule <prefill = 4, decode = [4 from 0]> : i64
  return
}

// -----

func.func @static_with_classifier(%step: i64) {
  // expected-error @+1 {{a static schedule takes no features or classifier}}
  %b = pmpd.step_precision %step schedule <prefill = 4, decode = [4 from 0]> : i64 {classifier = dense<0.0> : tensor<1x4xf32>}
  return
}

// -----

func.func @wrong_state(%step: i64, %f: tensor<2x4xf32>) {
  // expected-error @+1 {{the scheduler state must be 'tensor<3xf32>', got 'tensor<2x4xf32>'}}
  %b = pmpd.step_precision %step features(%f : tensor<2x4xf32>) schedule <prefill = 4, decode = [4 from 0, 2 from 8], learned = "s.json"> : i64
  return
}

// -----

func.func @learned_without_classifier(%step: i64, %f: tensor<3xf32>) {
  // expected-error @+1 {{a learned schedule needs its classifier; pmpd-insert-switch-points reads it from 's.json'}}
  %b = pmpd.step_precision %step features(%f : tensor<3xf32>) schedule <prefill = 4, decode = [4 from 0, 2 from 8], learned = "s.json"> : i64
  return
}

// -----

func.func @classifier_shape(%step: i64, %f: tensor<3xf32>) {
  // expected-error @+1 {{the classifier must have one row [bias, w_confidence, w_entropy, w_step] per transition, shape 2x4, got 'tensor<1x4xf32>'}}
  %b = pmpd.step_precision %step features(%f : tensor<3xf32>) schedule <prefill = 4, decode = [4 from 0, 3 from 8, 2 from 16], learned = "s.json"> : i64 {classifier = dense<0.0> : tensor<1x4xf32>}
  return
}

// -----

func.func @kv_cache_state(%step: i64, %f: tensor<3xf32>) {
  // expected-error @+1 {{the state of a kv_cache schedule must be 'tensor<2xf32>' ([decided, first step of each later stage]), got 'tensor<3xf32>'}}
  %b = pmpd.step_precision %step features(%f : tensor<3xf32>) schedule <prefill = 4, decode = [4 from 0, 2 from 0], learned = "kv.json", kv_cache> : i64
  return
}

// -----

func.func @kv_cache_classifier(%step: i64, %f: tensor<2xf32>) {
  // expected-error @+1 {{a kv_cache schedule takes no classifier attribute; its classifiers fill the state}}
  %b = pmpd.step_precision %step features(%f : tensor<2xf32>) schedule <prefill = 4, decode = [4 from 0, 2 from 0], learned = "kv.json", kv_cache> : i64 {classifier = dense<0.0> : tensor<1x4xf32>}
  return
}
