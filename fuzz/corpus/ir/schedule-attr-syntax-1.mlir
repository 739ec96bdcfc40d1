
// expected-error @+1 {{expected 'decode'}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, steps = [4 from 0]>} {}

