
// expected-error @+1 {{unsupported precision 0 bits}}
func.func @zero_bits() attributes {p = #pmpd.precision<0>} { return }
