
// expected-error @+1 {{a learned schedule needs at least two decode stages to choose between}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0], learned = "s.json">} {}

