// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{expected 'from'}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 at 0]>} {}

// -----

// expected-error @+1 {{expected 'decode'}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, steps = [4 from 0]>} {}

// -----

// expected-error @+1 {{expected 'learned'}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0], fast>} {}
