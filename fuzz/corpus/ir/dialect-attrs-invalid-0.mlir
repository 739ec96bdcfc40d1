
// expected-error @+1 {{'pmpd.phase' must be a #pmpd.phase attribute, got "prefill"}}
func.func @string_phase() attributes {pmpd.phase = "prefill"} { return }

