
// expected-error @+1 {{a learned schedule is monotone; drop 'nonmonotone'}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 2 from 8], nonmonotone, learned = "s.json">} {}

