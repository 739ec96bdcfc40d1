
// A learned scheduler names its classifier.
// CHECK: #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 16, 2 from 32], learned = "sched.json">
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 16, 2 from 32], learned = "sched.json">} {
}
