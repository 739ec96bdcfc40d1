
// expected-error @+1 {{schedule has no decode stage}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = []>} {}

