
// A cast that erases the token count folds into the projection, whose result
// becomes static too; users of the old type get a cast back.
// CHECK-LABEL: func.func @fold_input_cast(
// CHECK-SAME: %[[X:.*]]: tensor<1x8xf32>, %[[W:.*]]: !pmpd.qweight<4x8, parent = 4, seed = 2>)
// CHECK-NEXT: %[[Y:.*]] = pmpd.qlinear %[[X]], %[[W]] precision <3> {keep = 1 : i64} : tensor<1x8xf32>, !pmpd.qweight<4x8, parent = 4, seed = 2> -> tensor<1x4xf32>
// CHECK-NEXT: %[[C:.*]] = tensor.cast %[[Y]] : tensor<1x4xf32> to tensor<?x4xf32>
// CHECK-NEXT: return %[[C]] : tensor<?x4xf32>
func.func @fold_input_cast(%x: tensor<1x8xf32>, %w: !pmpd.qweight<4x8, parent = 4, seed = 2>) -> tensor<?x4xf32> {
  %c = tensor.cast %x : tensor<1x8xf32> to tensor<?x8xf32>
  %y = pmpd.qlinear %c, %w precision <3> {keep = 1} : tensor<?x8xf32>, !pmpd.qweight<4x8, parent = 4, seed = 2> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

