
// expected-error @+1 {{expected 'from'}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 at 0]>} {}

