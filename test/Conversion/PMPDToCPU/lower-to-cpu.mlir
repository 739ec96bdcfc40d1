// RUN: pmpd-opt %s --pmpd-thread-weights-buffer --pmpd-lower-step-precision --pmpd-lower-to-cpu --split-input-file | FileCheck %s

// A packed projection becomes a call of the lookup-table kernel with the
// planes and the 3-bit table of the mapped weights file; an fp16 tensor weight
// becomes a view of that file.

pmpd.weight @q = "q" at [0, 256, 384, 640] : !pmpd.qweight<16x32, parent = 4, seed = 2>
pmpd.weight @n = "n" at [1152] : tensor<32xf16>

// CHECK-NOT: pmpd.weight
// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x32xf32>, %[[W:[^:]*]]: memref<?xi8>) -> (tensor<?x16xf32>, tensor<32xf16>)
// CHECK-SAME: llvm.emit_c_interface
// CHECK: %[[SHIFT:.*]] = arith.constant 1152 : index
// CHECK: %[[VIEW:.*]] = memref.view %[[W]][%[[SHIFT]]][] : memref<?xi8> to memref<32xf16>
// CHECK: %[[N:.*]] = bufferization.to_tensor %[[VIEW]] restrict
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<?x32xf32> to memref<?x32xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x16xf32>
// CHECK: %[[NOBIAS:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: %[[LUTOFF:.*]] = arith.constant 384 : index
// CHECK: %[[BITS:.*]] = arith.constant 3 : i32
// CHECK: call @pmpd_qlinear_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BITS]], %[[NOBIAS]], %{{.*}})
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[Y]], %[[N]]
func.func @f(%x: tensor<?x32xf32>) -> (tensor<?x16xf32>, tensor<32xf16>) {
  %n = pmpd.get_weight @n : tensor<32xf16>
  %w = pmpd.get_weight @q : !pmpd.qweight<16x32, parent = 4, seed = 2>
  %y = pmpd.qlinear %x, %w precision <3> : tensor<?x32xf32>, !pmpd.qweight<16x32, parent = 4, seed = 2> -> tensor<?x16xf32>
  return %y, %n : tensor<?x16xf32>, tensor<32xf16>
}
// CHECK: func.func private @pmpd_qlinear_f32(!llvm.ptr, i64, i64, !llvm.ptr, i64, i32, !llvm.ptr, i32, !llvm.ptr, !llvm.ptr)

// -----

// An fp16 projection with a bias calls the fp16 kernel; callers pass the
// weights buffer on.
pmpd.weight @head = "lm_head.weight" at [64] : tensor<8x4xf16>

// CHECK-LABEL: func.func private @inner
// CHECK-SAME: (%{{.*}}: tensor<1x4xf32>, %[[B:[^:]*]]: tensor<8xf32>, %{{.*}}: memref<?xi8>)
// CHECK-NOT: llvm.emit_c_interface
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[B]] read_only
// CHECK: call @pmpd_linear_f16_f32(
func.func private @inner(%x: tensor<1x4xf32>, %b: tensor<8xf32>) -> tensor<1x8xf32> {
  %w = pmpd.get_weight @head : tensor<8x4xf16>
  %y = pmpd.qlinear %x, %w bias(%b : tensor<8xf32>) precision <16> : tensor<1x4xf32>, tensor<8x4xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
// CHECK-LABEL: func.func @outer
// CHECK-SAME: %[[WB:[^:]*]]: memref<?xi8>
// CHECK: call @inner(%{{.*}}, %{{.*}}, %[[WB]])
func.func @outer(%x: tensor<1x4xf32>, %b: tensor<8xf32>) -> tensor<1x8xf32> {
  %y = call @inner(%x, %b) : (tensor<1x4xf32>, tensor<8xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// A static schedule's switch point is a compare/select chain.
// CHECK-LABEL: func.func @bits
// CHECK-SAME: (%[[STEP:.*]]: i64
// CHECK: %[[B4:.*]] = arith.constant 4 : i32
// CHECK: %[[S64:.*]] = arith.constant 64 : i64
// CHECK: %[[GE64:.*]] = arith.cmpi sge, %[[STEP]], %[[S64]] : i64
// CHECK: %[[B3:.*]] = arith.constant 3 : i32
// CHECK: %[[SEL1:.*]] = arith.select %[[GE64]], %[[B3]], %[[B4]] : i32
// CHECK: %[[S128:.*]] = arith.constant 128 : i64
// CHECK: %[[GE128:.*]] = arith.cmpi sge, %[[STEP]], %[[S128]] : i64
// CHECK: %[[B2:.*]] = arith.constant 2 : i32
// CHECK: %[[SEL2:.*]] = arith.select %[[GE128]], %[[B2]], %[[SEL1]] : i32
// CHECK: return %[[SEL2]]
func.func @bits(%step: i64) -> i32 {
  %b = pmpd.step_precision %step schedule <prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]> : i64
  return %b : i32
}

// A learned schedule: the stage from the state, one logistic classifier per
// transition, and the next stage only where the state is in that stage and
// its first step is reached.
// CHECK-LABEL: func.func @learned_bits
// CHECK-SAME: (%[[STEP:.*]]: i64, %[[STATE:.*]]: tensor<3xf32>
// CHECK-DAG: %[[CONF:.*]] = tensor.extract %[[STATE]][%c1
// CHECK-DAG: %[[ENT:.*]] = tensor.extract %[[STATE]][%c2
// CHECK-DAG: %[[STEPF:.*]] = arith.sitofp %[[STEP]] : i64 to f32
// CHECK-DAG: %[[STAGEF:.*]] = tensor.extract %[[STATE]][%c0
// CHECK: %[[STAGE0:.*]] = arith.fptosi %[[STAGEF]] : f32 to i32
// CHECK: %[[LO:.*]] = arith.maxsi %[[STAGE0]]
// CHECK: %[[STAGE:.*]] = arith.minsi %[[LO]]
// CHECK: arith.mulf {{.*}}%[[CONF]]
// CHECK: arith.mulf {{.*}}%[[ENT]]
// CHECK: arith.mulf {{.*}}%[[STEPF]]
// CHECK: arith.cmpi eq, %[[STAGE]]
// CHECK: arith.cmpi sge, %[[STEP]]
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpi sge, %[[STEP]]
// CHECK: %[[NEXT:.*]] = arith.addi %[[STAGE]]
// CHECK: arith.cmpi eq, %[[NEXT]]
// CHECK: arith.select
// CHECK: arith.cmpi eq, %[[NEXT]]
// CHECK: %[[BITS:.*]] = arith.select
// CHECK: return %[[BITS]]
func.func @learned_bits(%step: i64, %state: tensor<3xf32>) -> i32 {
  %b = pmpd.step_precision %step features(%state : tensor<3xf32>)
      schedule <prefill = 4, decode = [4 from 0, 3 from 8, 2 from 12], learned = "s.json"> : i64
      {classifier = dense<[[-3.5, 6.0, -0.25, 0.0], [-1.0, 0.0, 0.0, 0.125]]> : tensor<2x4xf32>}
  return %b : i32
}
