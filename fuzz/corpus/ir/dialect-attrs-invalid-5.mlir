
// expected-error @+1 {{unknown pmpd attribute 'pmpd.speed'}}
func.func @unknown() attributes {pmpd.speed = 1} { return }

