// RUN: pmpd-opt %s --pmpd-thread-weights-buffer --pmpd-lower-to-gpu | FileCheck %s

// Decode (one token) launches the GEMV of its bit width over the planes and
// that width's table; prefill (any tokens) the tiled GEMM, with one block row
// per 64 tokens; an fp16 weight the fp16 kernel.

gpu.binary @pmpd_kernels [#gpu.object<#nvvm.target<chip = "sm_90">, "">]
pmpd.weight @q = "q" at [0, 256, 384, 640] : !pmpd.qweight<40x32, parent = 4, seed = 2>
pmpd.weight @h = "h" at [1152] : tensor<8x32xf16>

// CHECK: module attributes {gpu.container_module}
// CHECK-NOT: pmpd.weight
// CHECK-LABEL: func.func @decode
// CHECK-SAME: %[[W:[^:]*]]: memref<?xi8>
// CHECK: %[[LUT:.*]] = arith.constant 384 : index
// CHECK: %[[GRID:.*]] = arith.constant 3 : index
// CHECK: %[[THREADS:.*]] = arith.constant 256 : index
// CHECK: gpu.launch_func @pmpd_kernels::@pmpd_qgemv_b3 blocks in (%[[GRID]], %{{.*}}, %{{.*}}) threads in (%[[THREADS]], %{{.*}}, %{{.*}}) args(%{{.*}} : !llvm.ptr, %{{.*}} : i64, %{{.*}} : !llvm.ptr, %{{.*}} : i64, %{{.*}} : i32, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr)
func.func @decode(%x: tensor<1x32xf32>) -> tensor<1x40xf32> {
  %w = pmpd.get_weight @q : !pmpd.qweight<40x32, parent = 4, seed = 2>
  %y = pmpd.qlinear %x, %w precision <3> : tensor<1x32xf32>, !pmpd.qweight<40x32, parent = 4, seed = 2> -> tensor<1x40xf32>
  return %y : tensor<1x40xf32>
}

// CHECK-LABEL: func.func @prefill
// CHECK: %[[DIM:.*]] = memref.dim
// CHECK: %[[TOKENS:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: %[[COUNT:.*]] = arith.index_cast %[[TOKENS]] : i64 to index
// CHECK: %[[TILES:.*]] = arith.ceildivui %[[COUNT]], %{{.*}} : index
// CHECK: gpu.launch_func @pmpd_kernels::@pmpd_qgemm blocks in (%{{.*}}, %[[TILES]], %{{.*}}) threads in
// CHECK-SAME: args(%{{.*}} : !llvm.ptr, %[[TOKENS]] : i64,
func.func @prefill(%x: tensor<?x32xf32>) -> tensor<?x40xf32> {
  %w = pmpd.get_weight @q : !pmpd.qweight<40x32, parent = 4, seed = 2>
  %y = pmpd.qlinear %x, %w precision <4> : tensor<?x32xf32>, !pmpd.qweight<40x32, parent = 4, seed = 2> -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}

// CHECK-LABEL: func.func @head
// CHECK: %[[SINGLE:.*]] = arith.cmpi eq
// CHECK: %[[X:.*]] = arith.select %[[SINGLE]]
// CHECK: %[[Y:.*]] = arith.select %[[SINGLE]]
// CHECK: gpu.launch_func @pmpd_kernels::@pmpd_linear_f16 blocks in (%[[X]], %[[Y]], %{{.*}})
func.func @head(%x: tensor<?x32xf32>) -> tensor<?x8xf32> {
  %w = pmpd.get_weight @h : tensor<8x32xf16>
  %y = pmpd.qlinear %x, %w precision <16> : tensor<?x32xf32>, tensor<8x32xf16> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

