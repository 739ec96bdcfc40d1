
// expected-error @+1 {{a learned schedule steps down in precision at every stage; stage 2 has 3 bits after 3}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 8, 3 from 16], learned = "s.json">} {}
