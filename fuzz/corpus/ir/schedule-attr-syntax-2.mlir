
// expected-error @+1 {{expected 'learned'}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0], fast>} {}
