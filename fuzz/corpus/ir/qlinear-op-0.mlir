
!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

// CHECK-LABEL: func.func @unassigned
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} : tensor<?x32xf32>, !pmpd.qweight<64x32, parent = 4, seed = 2> -> tensor<?x64xf32>
func.func @unassigned(%x: tensor<?x32xf32>, %w: !w) -> tensor<?x64xf32> {
  %y = pmpd.qlinear %x, %w : tensor<?x32xf32>, !w -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @at_each_width
// CHECK: pmpd.qlinear %[[X:.*]], %[[W:.*]] precision <2>
// CHECK: pmpd.qlinear %[[X]], %[[W]] precision <3>
// CHECK: pmpd.qlinear %[[X]], %[[W]] precision <4>
func.func @at_each_width(%x: tensor<1x32xf32>, %w: !w) -> (tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x64xf32>) {
  %a = pmpd.qlinear %x, %w precision <2> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  %b = pmpd.qlinear %x, %w precision <3> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  %c = pmpd.qlinear %x, %w precision <4> : tensor<1x32xf32>, !w -> tensor<1x64xf32>
  return %a, %b, %c : tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x64xf32>
}

// CHECK-LABEL: func.func @batched
// CHECK: pmpd.qlinear {{.*}} : tensor<2x7x32xf16>, {{.*}} -> tensor<2x7x64xf16>
func.func @batched(%x: tensor<2x7x32xf16>, %w: !w) -> tensor<2x7x64xf16> {
  %y = pmpd.qlinear %x, %w precision <3> : tensor<2x7x32xf16>, !w -> tensor<2x7x64xf16>
  return %y : tensor<2x7x64xf16>
}
