// RUN: pmpd-opt %s --split-input-file --pmpd-insert-switch-points --verify-diagnostics

// expected-error @+1 {{pmpd-insert-switch-points needs the module's pmpd.schedule; run pmpd-assign-precision first}}
module {
}

// -----

// expected-error @+1 {{no-such-scheduler.json: cannot read the learned scheduler: No such file or directory}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 2 from 32], learned = "no-such-scheduler.json">} {
}

// -----

// expected-error @+1 {{pmpd-insert-switch-points supports monotone schedules only, not #pmpd.schedule<prefill = 4, decode = [2 from 0, 4 from 32], nonmonotone>}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [2 from 0, 4 from 32], nonmonotone>} {
}

// -----

// expected-error @+1 {{the schedule decodes at 3 bits but the module has no @decode_b3; run pmpd-specialize-phases first}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 32]>} {
  func.func @decode_b4(%tokens: tensor<1xi64>) { return }
  func.func @forward(%tokens: tensor<?xi64>) { return }
}

// -----

module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 32]>} {
  // expected-note @+1 {{@decode_b4 has type '(tensor<1xi64>) -> ()'}}
  func.func @decode_b4(%tokens: tensor<1xi64>) { return }
  // expected-error @+1 {{@decode_b3 has type '(tensor<1xi64>, index) -> ()', unlike the first decode variant}}
  func.func @decode_b3(%tokens: tensor<1xi64>, %start: index) { return }
}

// -----

// Running the pass twice: @decode is there already.
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} {
  func.func @decode_b4(%tokens: tensor<1xi64>) { return }
  // expected-error @+1 {{@decode already exists; pmpd-insert-switch-points creates it}}
  func.func @decode(%step: i64, %tokens: tensor<1xi64>) -> i32 {
    %c4 = arith.constant 4 : i32
    return %c4 : i32
  }
}
