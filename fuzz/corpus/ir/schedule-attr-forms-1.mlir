
// fp16 everywhere.
// CHECK: #pmpd.schedule<prefill = 16, decode = [16 from 0]>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 16, decode = [16 from 0]>} {
}

