
// expected-error @+1 {{decode precision rises from 2 to 4 bits at step 16; mark the schedule 'nonmonotone' to allow it}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [2 from 0, 4 from 16]>} {}

