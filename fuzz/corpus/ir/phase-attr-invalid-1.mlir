
// expected-error @+1 {{expected '<'}}
func.func @bare() attributes {pmpd.phase = #pmpd.phase} { return }
