
// A uniform schedule.
// CHECK: #pmpd.schedule<prefill = 3, decode = [3 from 0]>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 3, decode = [3 from 0]>} {
}

