
// expected-error @+1 {{unsupported prefill precision 10 bits; expected 2 to 8, or 16 for fp16}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 10, decode = [4 from 0]>} {}

