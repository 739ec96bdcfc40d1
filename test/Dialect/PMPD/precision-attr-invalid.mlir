// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{unsupported precision 1 bits; expected 2 to 8, or 16 for fp16}}
func.func @one_bit() attributes {p = #pmpd.precision<1>} { return }

// -----

// expected-error @+1 {{unsupported precision 9 bits; expected 2 to 8, or 16 for fp16}}
func.func @nine_bits() attributes {p = #pmpd.precision<9>} { return }

// -----

// expected-error @+1 {{unsupported precision 12 bits; expected 2 to 8, or 16 for fp16}}
func.func @twelve_bits() attributes {p = #pmpd.precision<12>} { return }

// -----

// expected-error @+1 {{unsupported precision 0 bits}}
func.func @zero_bits() attributes {p = #pmpd.precision<0>} { return }
