
// expected-error @+1 {{'pmpd.precision' must be a #pmpd.precision attribute, got 4 : i64}}
func.func @int_precision() attributes {pmpd.precision = 4} { return }

