
// Every supported width survives printing and parsing.
// CHECK-LABEL: func.func @widths()
// CHECK-SAME: b16 = #pmpd.precision<16>
// CHECK-SAME: b2 = #pmpd.precision<2>
// CHECK-SAME: b3 = #pmpd.precision<3>
// CHECK-SAME: b4 = #pmpd.precision<4>
// CHECK-SAME: b8 = #pmpd.precision<8>
func.func @widths() attributes {b2 = #pmpd.precision<2>, b3 = #pmpd.precision<3>,
                                b4 = #pmpd.precision<4>, b8 = #pmpd.precision<8>,
                                b16 = #pmpd.precision<16>} {
  return
}

// CHECK-LABEL: func.func @decode_b3()
// CHECK-SAME: pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<3>
func.func @decode_b3() attributes {pmpd.phase = #pmpd.phase<decode>,
                                   pmpd.precision = #pmpd.precision<3>} {
  return
}
