
// expected-error @+1 {{unsupported precision 9 bits; expected 2 to 8, or 16 for fp16}}
func.func @nine_bits() attributes {p = #pmpd.precision<9>} { return }

