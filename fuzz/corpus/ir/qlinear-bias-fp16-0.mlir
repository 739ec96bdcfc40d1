
// CHECK-LABEL: func.func @bias
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} bias(%{{.*}} : tensor<64xf32>) precision <4>
func.func @bias(%x: tensor<?x32xf32>, %w: !pmpd.qweight<64x32, parent = 4, seed = 2>,
                %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = pmpd.qlinear %x, %w bias(%b : tensor<64xf32>) precision <4>
      : tensor<?x32xf32>, !pmpd.qweight<64x32, parent = 4, seed = 2> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// An fp16 weight (an all-fp16 schedule) runs at precision 16.
// CHECK-LABEL: func.func @fp16
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} precision <16> : tensor<?x32xf32>, tensor<64x32xf16> -> tensor<?x64xf32>
func.func @fp16(%x: tensor<?x32xf32>, %w: tensor<64x32xf16>) -> tensor<?x64xf32> {
  %y = pmpd.qlinear %x, %w precision <16> : tensor<?x32xf32>, tensor<64x32xf16> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
