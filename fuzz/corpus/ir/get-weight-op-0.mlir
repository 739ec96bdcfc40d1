
pmpd.weight @q = "q" : !pmpd.qweight<64x32, parent = 4, seed = 2>
pmpd.weight @embed = "e" : tensor<100x32xf16>

// CHECK-LABEL: func.func @weights
// CHECK: %[[Q:.*]] = pmpd.get_weight @q : !pmpd.qweight<64x32, parent = 4, seed = 2>
// CHECK: %[[E:.*]] = pmpd.get_weight @embed : tensor<100x32xf16>
// CHECK: return %[[Q]], %[[E]]
func.func @weights() -> (!pmpd.qweight<64x32, parent = 4, seed = 2>, tensor<100x32xf16>) {
  %q = pmpd.get_weight @q : !pmpd.qweight<64x32, parent = 4, seed = 2>
  %e = pmpd.get_weight @embed : tensor<100x32xf16>
  return %q, %e : !pmpd.qweight<64x32, parent = 4, seed = 2>, tensor<100x32xf16>
}
