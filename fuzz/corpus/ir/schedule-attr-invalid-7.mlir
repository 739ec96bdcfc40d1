
// expected-error @+1 {{learned schedule needs a classifier file name}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0], learned = "">} {}

