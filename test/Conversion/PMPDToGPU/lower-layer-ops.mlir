// RUN: pmpd-opt %s --pmpd-thread-weights-buffer --pmpd-lower-to-gpu --canonicalize | FileCheck %s

// RMSNorm: a block of 256 threads per row. Attention of one token: the
// decode kernel over (heads, splits), splits = min(ceil((start + 1) / 128),
// 64), then the combine kernel when there is more than one split; of any
// tokens: the prefill kernel over (ceil(n / 16), heads). The kernels read
// layer 1 of the caches at its byte offset (1 x 16 x 2 x 32 floats). A head
// size without a kernel keeps the linalg form.

gpu.binary @pmpd_kernels [#gpu.object<#nvvm.target<chip = "sm_90">, "">]
pmpd.weight @norm = "norm" at [64] : tensor<32xf16>

// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[X:[^:]*]]: tensor<1x32xf32>, %[[Q:[^:]*]]: tensor<1x4x32xf32>, %[[K:[^:]*]]: tensor<2x16x2x32xf32>, %[[V:[^:]*]]: tensor<2x16x2x32xf32>, %[[START:[^:]*]]: index, %[[WEIGHTS:[^:]*]]: memref<?xi8>)
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 0.176776692 : f32
// CHECK: %[[W:.*]] = memref.view %[[WEIGHTS]][%c64][] : memref<?xi8> to memref<32xf16>
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[NORMED:.*]] = memref.alloc() : memref<1x32xf32>
// CHECK: gpu.launch_func @pmpd_kernels::@pmpd_rms_norm blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args({{.*}} : !llvm.ptr, %c32_i64 : i64, {{.*}} : !llvm.ptr, %[[EPS]] : f32, {{.*}} : !llvm.ptr)
// CHECK: %[[KB:.*]] = bufferization.to_buffer %[[K]] read_only
// CHECK: %[[KP:.*]] = memref.extract_aligned_pointer_as_index %[[KB]]
// CHECK: arith.addi %[[KP]], %c4096 : index
// CHECK: %[[VISIBLE:.*]] = arith.addi %[[START]], %c1 : index
// CHECK: %[[CHUNKS:.*]] = arith.ceildivui %[[VISIBLE]], %c128 : index
// CHECK: %[[SPLITS:.*]] = arith.minui %[[CHUNKS]], %c64 : index
// CHECK: %[[SIZE:.*]] = arith.muli %[[SPLITS]], %c136 : index
// CHECK: %[[PARTIAL:.*]] = memref.alloc(%[[SIZE]]) : memref<?xf32>
// CHECK: gpu.launch_func @pmpd_kernels::@pmpd_attention_decode blocks in (%c4, %[[SPLITS]], %c1) threads in (%c256, %c1, %c1) args({{.*}} : !llvm.ptr, {{.*}} : !llvm.ptr, {{.*}} : !llvm.ptr, {{.*}} : i64, %c4_i32 : i32, %c2_i32 : i32, %c32_i32 : i32, %[[SCALE]] : f32, {{.*}} : !llvm.ptr, {{.*}} : !llvm.ptr)
// CHECK: %[[SPLIT:.*]] = arith.cmpi ugt, %[[SPLITS]], %c1 : index
// CHECK: scf.if %[[SPLIT]] {
// CHECK: gpu.launch_func @pmpd_kernels::@pmpd_attention_combine blocks in (%c4, %c1, %c1) threads in (%c256, %c1, %c1) args({{.*}} : !llvm.ptr, {{.*}} : i32, %c32_i32 : i32, {{.*}} : !llvm.ptr)
// CHECK: }
func.func @decode(%x: tensor<1x32xf32>, %q: tensor<1x4x32xf32>,
                  %k: tensor<2x16x2x32xf32>, %v: tensor<2x16x2x32xf32>,
                  %start: index) -> (tensor<1x32xf32>, tensor<1x128xf32>) {
  %w = pmpd.get_weight @norm : tensor<32xf16>
  %n = pmpd.rms_norm %x, %w epsilon 1.0e-05 : tensor<1x32xf32>, tensor<32xf16> -> tensor<1x32xf32>
  %a = pmpd.attention %q, %k, %v at %start layer 1 : tensor<1x4x32xf32>, tensor<2x16x2x32xf32> -> tensor<1x128xf32>
  return %n, %a : tensor<1x32xf32>, tensor<1x128xf32>
}

// CHECK-LABEL: func.func @prefill(
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0 : tensor<?x4x32xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%[[N]]) : memref<?x128xf32>
// CHECK: %[[TILES:.*]] = arith.ceildivui %[[N]], %c16 : index
// CHECK: gpu.launch_func @pmpd_kernels::@pmpd_attention_prefill blocks in (%[[TILES]], %c4, %c1) threads in (%c256, %c1, %c1)
// CHECK: bufferization.to_tensor %[[OUT]]
func.func @prefill(%q: tensor<?x4x32xf32>, %k: tensor<2x16x2x32xf32>,
                   %v: tensor<2x16x2x32xf32>, %start: index) -> tensor<?x128xf32> {
  %a = pmpd.attention %q, %k, %v at %start layer 1 : tensor<?x4x32xf32>, tensor<2x16x2x32xf32> -> tensor<?x128xf32>
  return %a : tensor<?x128xf32>
}

// CHECK-LABEL: func.func @small_heads(
// CHECK-NOT: gpu.launch_func
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: tensor.collapse_shape
func.func @small_heads(%q: tensor<1x4x8xf32>, %k: tensor<2x16x2x8xf32>,
                       %v: tensor<2x16x2x8xf32>, %start: index) -> tensor<1x32xf32> {
  %a = pmpd.attention %q, %k, %v at %start layer 1 : tensor<1x4x8xf32>, tensor<2x16x2x8xf32> -> tensor<1x32xf32>
  return %a : tensor<1x32xf32>
}
