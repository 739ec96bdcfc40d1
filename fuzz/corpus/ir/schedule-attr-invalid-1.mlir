
// expected-error @+1 {{decode steps must strictly increase, but step 64 follows step 64}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 64, 2 from 64]>} {}

