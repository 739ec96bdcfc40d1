
// expected-error @+2 {{expected ::pmpd::Phase to be one of: prefill, decode}}
// expected-error @+1 {{failed to parse PMPD_PhaseAttr parameter 'value'}}
func.func @middle() attributes {pmpd.phase = #pmpd.phase<middle>} { return }

