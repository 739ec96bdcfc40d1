// RUN: pmpd-opt %s --pmpd-thread-weights-buffer --pmpd-lower-step-precision --pmpd-lower-to-cpu --split-input-file | FileCheck %s

// pmpd.attention becomes a call of the CPU attention kernel on the buffers of
// the query and of the whole caches, the shape and layer as constants and the
// start position from the op; the kernel writes a fresh buffer.

// CHECK-LABEL: func.func @attend
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<?x8x64xf32>, %[[K:[^:]*]]: tensor<6x1024x4x64xf32>, %[[V:[^:]*]]: tensor<6x1024x4x64xf32>, %[[S:[^:]*]]: index
// CHECK-NOT: pmpd.attention
// CHECK-DAG: %[[QB:.*]] = bufferization.to_buffer %[[Q]] read_only : tensor<?x8x64xf32> to memref<?x8x64xf32>
// CHECK-DAG: %[[KB:.*]] = bufferization.to_buffer %[[K]] read_only : tensor<6x1024x4x64xf32> to memref<6x1024x4x64xf32>
// CHECK-DAG: %[[VB:.*]] = bufferization.to_buffer %[[V]] read_only : tensor<6x1024x4x64xf32> to memref<6x1024x4x64xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x512xf32>
// CHECK-DAG: %[[HEADS:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[LAYER:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[M:.*]] = arith.constant 1024 : i64
// CHECK-DAG: %[[KV:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[D:.*]] = arith.constant 64 : i64
// CHECK: %[[START:.*]] = arith.index_cast %[[S]] : index to i64
// CHECK: call @pmpd_attention_f32(%{{.*}}, %{{.*}}, %[[HEADS]], %{{.*}}, %{{.*}}, %[[LAYER]], %[[M]], %[[KV]], %[[D]], %[[START]], %{{.*}})
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[R]]
func.func @attend(%q: tensor<?x8x64xf32>, %k: tensor<6x1024x4x64xf32>, %v: tensor<6x1024x4x64xf32>, %s: index) -> tensor<?x512xf32> {
  %a = pmpd.attention %q, %k, %v at %s layer 2 : tensor<?x8x64xf32>, tensor<6x1024x4x64xf32> -> tensor<?x512xf32>
  return %a : tensor<?x512xf32>
}
// CHECK: func.func private @pmpd_attention_f32(!llvm.ptr, i64, i64, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr)

// -----

// pmpd.rms_norm has no CPU kernel: it is expanded into linalg, as
// pmpd-decompose-layer-ops expands it.

// CHECK-LABEL: func.func @norm
// CHECK-NOT: pmpd.rms_norm
// CHECK: linalg.generic
// CHECK-NOT: call
func.func @norm(%x: tensor<?x512xf32>, %w: tensor<512xf16>) -> tensor<?x512xf32> {
  %y = pmpd.rms_norm %x, %w epsilon 1.0e-05 : tensor<?x512xf32>, tensor<512xf16> -> tensor<?x512xf32>
  return %y : tensor<?x512xf32>
}
