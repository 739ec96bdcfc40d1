
// CHECK-LABEL: func.func @prefill()
// CHECK-SAME: pmpd.phase = #pmpd.phase<prefill>
func.func @prefill() attributes {pmpd.phase = #pmpd.phase<prefill>} {
  return
}

// CHECK-LABEL: func.func @decode()
// CHECK-SAME: pmpd.phase = #pmpd.phase<decode>
func.func @decode() attributes {pmpd.phase = #pmpd.phase<decode>} {
  return
}
