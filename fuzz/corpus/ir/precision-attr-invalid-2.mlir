
// expected-error @+1 {{unsupported precision 12 bits; expected 2 to 8, or 16 for fp16}}
func.func @twelve_bits() attributes {p = #pmpd.precision<12>} { return }

