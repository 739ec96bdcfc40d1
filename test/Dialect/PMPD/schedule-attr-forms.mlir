// RUN: pmpd-opt %s --split-input-file | pmpd-opt --split-input-file | FileCheck %s

// A uniform schedule.
// CHECK: #pmpd.schedule<prefill = 3, decode = [3 from 0]>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 3, decode = [3 from 0]>} {
}

// -----

// fp16 everywhere.
// CHECK: #pmpd.schedule<prefill = 16, decode = [16 from 0]>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 16, decode = [16 from 0]>} {
}

// -----

// A schedule that may rise, when asked.
// CHECK: #pmpd.schedule<prefill = 4, decode = [2 from 0, 4 from 16], nonmonotone>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [2 from 0, 4 from 16], nonmonotone>} {
}

// -----

// A learned scheduler names its classifier.
// CHECK: #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 16, 2 from 32], learned = "sched.json">
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 16, 2 from 32], learned = "sched.json">} {
}

// -----

// PMPD's prompt-adaptive scheduler: its classifiers pick every switch step.
// CHECK: #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 0, 2 from 0], learned = "kv.json", kv_cache>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 0, 2 from 0], learned = "kv.json", kv_cache>} {
}
