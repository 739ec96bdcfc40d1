
// expected-error @+1 {{unsupported decode precision 1 bits at step 64; expected 2 to 8, or 16 for fp16}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 1 from 64]>} {}

