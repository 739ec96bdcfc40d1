// RUN: pmpd-opt %s --pmpd-record-npu-workload=output=%t.json -o /dev/null
// RUN: FileCheck %s < %t.json
// RUN: pmpd-opt %s --pmpd-record-npu-workload | FileCheck %s --check-prefix=ATTR
// RUN: not pmpd-opt %s --pmpd-record-npu-workload=output=%t.missing/w.json -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOFILE

// What the NPU cost model is given: the projections of each entry point
// (rows, columns, bits; fp16 rows as linear_f16), and its loop nests with
// iterations, operations and bytes as polynomials in the sequence length
// (coefficient of L^i at index i), identical ops merged with a count.

// CHECK: "decode_schedule": [
// CHECK-NEXT: [
// CHECK-NEXT: 0,
// CHECK-NEXT: 3
// CHECK-NEXT: ],
// CHECK-NEXT: [
// CHECK-NEXT: 8,
// CHECK-NEXT: 2

// The prefill: the two 4-bit projections of the same shape are one entry
// counted twice; its scalar loop runs over the tokens (L^1), 2 operations and
// a special function (exp) per iteration, reading and writing L x 64 fp32.
// CHECK: "bits": 4,
// CHECK: "name": "prefill",
// CHECK-NEXT: "ops": [
// CHECK-NEXT: {
// CHECK-NEXT: "bits": 4,
// CHECK-NEXT: "cols": 64,
// CHECK-NEXT: "count": 2,
// CHECK-NEXT: "kind": "qlinear",
// CHECK-NEXT: "rows": 32
// CHECK-NEXT: },
// CHECK-NEXT: {
// CHECK-NEXT: "arithmetic": 2,
// CHECK-NEXT: "bytes": [
// CHECK-NEXT: 0,
// CHECK-NEXT: 512
// CHECK-NEXT: ],
// CHECK-NEXT: "count": 1,
// CHECK-NEXT: "iterations": [
// CHECK-NEXT: 0,
// CHECK-NEXT: 64
// CHECK-NEXT: ],
// CHECK-NEXT: "kind": "scalar",
// CHECK-NEXT: "name": "linalg.generic",
// CHECK-NEXT: "special": {
// CHECK-NEXT: "exp": 1
// CHECK-NEXT: }
// CHECK-NEXT: },
// CHECK-NEXT: {
// CHECK-NEXT: "cols": 64,
// CHECK-NEXT: "count": 1,
// CHECK-NEXT: "kind": "linear_f16",
// CHECK-NEXT: "rows": 100
// CHECK-NEXT: }
// CHECK-NEXT: ],
// CHECK-NEXT: "prefill": true

// The decode variant: one token, the 3-bit kernel.
// CHECK: "bits": 3,
// CHECK: "name": "decode_b3",
// CHECK-NEXT: "ops": [
// CHECK-NEXT: {
// CHECK-NEXT: "bits": 3,
// CHECK-NEXT: "cols": 64,
// CHECK-NEXT: "count": 1,
// CHECK-NEXT: "kind": "qlinear",
// CHECK-NEXT: "rows": 32
// CHECK: "prefill": false
// CHECK: "kernels": {
// CHECK: "qlinear": {
// CHECK: "prefill_bits": 4

// ATTR: module attributes {npu.workload = "{{.*}}decode_b3{{.*}}"

// NOFILE: error: cannot write {{.*}}missing/w.json

#map = affine_map<(d0, d1) -> (d0, d1)>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [3 from 0, 2 from 8]>} {
  pmpd.weight @w = "w" : !pmpd.qweight<32x64, parent = 4, seed = 2>
  pmpd.weight @v = "v" : !pmpd.qweight<32x64, parent = 4, seed = 2>
  pmpd.weight @head = "head" : tensor<100x64xf16>
  func.func @prefill(%x: tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x100xf32>) attributes {pmpd.phase = #pmpd.phase<prefill>, pmpd.precision = #pmpd.precision<4>} {
    %w = pmpd.get_weight @w : !pmpd.qweight<32x64, parent = 4, seed = 2>
    %y = pmpd.qlinear %x, %w precision <4> : tensor<?x64xf32>, !pmpd.qweight<32x64, parent = 4, seed = 2> -> tensor<?x32xf32>
    %v = pmpd.get_weight @v : !pmpd.qweight<32x64, parent = 4, seed = 2>
    %z = pmpd.qlinear %x, %v precision <4> : tensor<?x64xf32>, !pmpd.qweight<32x64, parent = 4, seed = 2> -> tensor<?x32xf32>
    %e = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x64xf32>) outs(%x : tensor<?x64xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.exp %in : f32
      %1 = arith.addf %0, %in : f32
      %2 = arith.mulf %1, %1 : f32
      linalg.yield %2 : f32
    } -> tensor<?x64xf32>
    %h = pmpd.get_weight @head : tensor<100x64xf16>
    %logits = pmpd.qlinear %e, %h precision <16> : tensor<?x64xf32>, tensor<100x64xf16> -> tensor<?x100xf32>
    return %y, %z, %logits : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x100xf32>
  }
  func.func @decode_b3(%x: tensor<1x64xf32>) -> tensor<1x32xf32> attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<3>} {
    %w = pmpd.get_weight @w : !pmpd.qweight<32x64, parent = 4, seed = 2>
    %y = pmpd.qlinear %x, %w precision <3> : tensor<1x64xf32>, !pmpd.qweight<32x64, parent = 4, seed = 2> -> tensor<1x32xf32>
    return %y : tensor<1x32xf32>
  }
  func.func @decode_b2(%x: tensor<1x64xf32>) -> tensor<1x32xf32> attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<2>} {
    %w = pmpd.get_weight @w : !pmpd.qweight<32x64, parent = 4, seed = 2>
    %y = pmpd.qlinear %x, %w precision <2> : tensor<1x64xf32>, !pmpd.qweight<32x64, parent = 4, seed = 2> -> tensor<1x32xf32>
    return %y : tensor<1x32xf32>
  }
}

