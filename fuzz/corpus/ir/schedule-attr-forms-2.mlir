
// A schedule that may rise, when asked.
// CHECK: #pmpd.schedule<prefill = 4, decode = [2 from 0, 4 from 16], nonmonotone>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [2 from 0, 4 from 16], nonmonotone>} {
}

