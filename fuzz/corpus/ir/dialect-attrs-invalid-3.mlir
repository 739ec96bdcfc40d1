
// expected-error @+1 {{'pmpd.schedule' may only be attached to a module}}
func.func @scheduled() attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} { return }

