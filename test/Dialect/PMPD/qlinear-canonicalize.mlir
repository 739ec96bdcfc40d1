// RUN: pmpd-opt %s --split-input-file --canonicalize | FileCheck %s

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

// -----

// Chained projections become static end to end: the cast between them folds
// too, and so does a cast of the bias.
// CHECK-LABEL: func.func @chain(
// CHECK-SAME: %[[X:[^:]*]]: tensor<1x8xf32>, %[[W1:[^:]*]]: tensor<8x8xf16>, %[[W2:[^:]*]]: tensor<4x8xf16>, %[[B:[^:]*]]: tensor<4xf32>)
// CHECK-NEXT: %[[Y1:.*]] = pmpd.qlinear %[[X]], %[[W1]] : tensor<1x8xf32>, tensor<8x8xf16> -> tensor<1x8xf32>
// CHECK-NEXT: %[[Y2:.*]] = pmpd.qlinear %[[Y1]], %[[W2]] bias(%[[B]] : tensor<4xf32>) : tensor<1x8xf32>, tensor<4x8xf16> -> tensor<1x4xf32>
// CHECK-NEXT: return %[[Y2]] : tensor<1x4xf32>
func.func @chain(%x: tensor<1x8xf32>, %w1: tensor<8x8xf16>, %w2: tensor<4x8xf16>, %b: tensor<4xf32>) -> tensor<1x4xf32> {
  %c = tensor.cast %x : tensor<1x8xf32> to tensor<?x8xf32>
  %y1 = pmpd.qlinear %c, %w1 : tensor<?x8xf32>, tensor<8x8xf16> -> tensor<?x8xf32>
  %bc = tensor.cast %b : tensor<4xf32> to tensor<?xf32>
  %y2 = pmpd.qlinear %y1, %w2 bias(%bc : tensor<?xf32>) : tensor<?x8xf32>, tensor<4x8xf16> -> tensor<?x4xf32>
  %r = tensor.cast %y2 : tensor<?x4xf32> to tensor<1x4xf32>
  return %r : tensor<1x4xf32>
}

// -----

// The feature count of a result comes from the weight.
// CHECK-LABEL: func.func @static_features(
// CHECK: pmpd.qlinear {{.*}} -> tensor<?x4xf32>
// CHECK-NEXT: tensor.cast {{.*}} : tensor<?x4xf32> to tensor<?x?xf32>
func.func @static_features(%x: tensor<?x8xf32>, %w: tensor<4x8xf16>) -> tensor<?x?xf32> {
  %y = pmpd.qlinear %x, %w : tensor<?x8xf32>, tensor<4x8xf16> -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

// A cast that adds information (a dynamic to a static shape) is a check, not
// an erasure: it does not fold, and a projection with nothing to refine is
// left alone.
// CHECK-LABEL: func.func @no_fold(
// CHECK-NEXT: %[[C:.*]] = tensor.cast %{{.*}} : tensor<?x8xf32> to tensor<2x8xf32>
// CHECK-NEXT: pmpd.qlinear %[[C]], %{{.*}} : tensor<2x8xf32>, tensor<4x8xf16> -> tensor<2x4xf32>
// CHECK-NEXT: pmpd.qlinear %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<4x8xf16> -> tensor<?x4xf32>
func.func @no_fold(%x: tensor<?x8xf32>, %w: tensor<4x8xf16>) -> (tensor<2x4xf32>, tensor<?x4xf32>) {
  %c = tensor.cast %x : tensor<?x8xf32> to tensor<2x8xf32>
  %y = pmpd.qlinear %c, %w : tensor<2x8xf32>, tensor<4x8xf16> -> tensor<2x4xf32>
  %z = pmpd.qlinear %x, %w : tensor<?x8xf32>, tensor<4x8xf16> -> tensor<?x4xf32>
  return %y, %z : tensor<2x4xf32>, tensor<?x4xf32>
}
