
// expected-error @+1 {{unsupported precision 1 bits; expected 2 to 8, or 16 for fp16}}
func.func @one_bit() attributes {p = #pmpd.precision<1>} { return }

