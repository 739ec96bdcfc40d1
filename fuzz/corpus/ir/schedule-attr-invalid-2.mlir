
// expected-error @+1 {{first decode stage must start at step 0, got 8}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 8]>} {}

