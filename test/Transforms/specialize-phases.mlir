// RUN: pmpd-opt %s --split-input-file --pmpd-specialize-phases | FileCheck %s
// RUN: pmpd-opt %s --split-input-file --pmpd-specialize-phases | FileCheck %s --check-prefix=STATIC

// No '?' anywhere in a decode variant of the first and last cases: every
// shape of the body is static.
// STATIC-LABEL: func.func @decode_b4(
// STATIC-NOT: ?
// STATIC-LABEL: func.func @decode_b3(
// STATIC-NOT: ?
// STATIC-LABEL: func.func @decode_b2(
// STATIC-NOT: ?
// STATIC-LABEL: pmpd.weight @helper_table
// STATIC-LABEL: func.func @decode_b16(
// STATIC-NOT: ?

// A packed model (as the importer writes it, after pmpd-assign-precision
// fixed layer 0's o_proj at 3 bits and all of layer 1 at 4): @forward becomes
// @prefill and one @decode_b<K> per decode precision, in schedule order.

// The unused weight is gone, the others stay.
// CHECK-LABEL: module attributes {pmpd.schedule
// CHECK: pmpd.weight @embed_tokens
// CHECK-NOT: @layers.1.unused
// CHECK: pmpd.weight @lm_head
// CHECK-NOT: @forward

// Prefill keeps N tokens; each projection runs at 4 bits unless fixed, and
// lm_head at 16. No fixed-precision attribute is left on an op.
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: %[[TOK:.*]]: tensor<?xi64>, %{{.*}}: index, %{{.*}}: tensor<2x16x1x4xf32>, %{{.*}}: tensor<2x16x1x4xf32>)
// CHECK-SAME: -> (tensor<?x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>)
// CHECK-SAME: attributes {pmpd.phase = #pmpd.phase<prefill>, pmpd.precision = #pmpd.precision<4>}
// CHECK-NOT: {pmpd.precision
// CHECK: tensor.dim %[[TOK]]
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} precision <4> : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} precision <4> : tensor<?x8xf32>, !pmpd.qweight<4x8, parent = 4, seed = 2> -> tensor<?x4xf32>
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} precision <3> : tensor<?x8xf32>
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} precision <4> : tensor<?x8xf32>
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} precision <4> : tensor<?x8xf32>
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} precision <4> : tensor<?x8xf32>
// CHECK: pmpd.qlinear %{{.*}}, %{{.*}} precision <16> : tensor<?x8xf32>, tensor<32x8xf16> -> tensor<?x32xf32>
// CHECK: return

// Decode takes one token: the projections are matrix-vector products, the
// cache is updated at one position and the logits are 1x32.
// CHECK-LABEL: func.func @decode_b4(
// CHECK-SAME: %[[TOK:[^:]*]]: tensor<1xi64>, %[[START:[^:]*]]: index, %[[KC:[^:]*]]: tensor<2x16x1x4xf32>, %[[VC:[^:]*]]: tensor<2x16x1x4xf32>)
// CHECK-SAME: -> (tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>)
// CHECK-SAME: attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<4>}
// CHECK-NOT: ?
// CHECK: %[[X0:.*]] = linalg.generic {{.*}} ins(%[[TOK]] : tensor<1xi64>) outs(%{{.*}} : tensor<1x8xf32>)
// CHECK: %[[WQ0:.*]] = pmpd.get_weight @layers.0.q_proj
// CHECK-NEXT: %[[Q0:.*]] = pmpd.qlinear %[[X0]], %[[WQ0]] precision <4> : tensor<1x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<1x8xf32>
// CHECK: %[[K0:.*]] = pmpd.qlinear %[[X0]], %{{.*}} precision <4> : tensor<1x8xf32>, !pmpd.qweight<4x8, parent = 4, seed = 2> -> tensor<1x4xf32>
// CHECK-NEXT: %[[KC0:.*]] = tensor.insert_slice %[[K0]] into %[[KC]][0, %[[START]], 0, 0] [1, 1, 1, 4] [1, 1, 1, 1] : tensor<1x4xf32> into tensor<2x16x1x4xf32>
// CHECK: pmpd.qlinear %[[Q0]], %{{.*}} precision <3> : tensor<1x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<1x8xf32>
// CHECK: linalg.add {{.*}} -> tensor<1x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <4> : tensor<1x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <4> : tensor<1x8xf32>
// CHECK: %[[KC1:.*]] = tensor.insert_slice %{{.*}} into %[[KC0]][1, %[[START]], 0, 0] [1, 1, 1, 4]
// CHECK: pmpd.qlinear {{.*}} precision <4> : tensor<1x8xf32>
// CHECK: %[[LOGITS:.*]] = pmpd.qlinear {{.*}} precision <16> : tensor<1x8xf32>, tensor<32x8xf16> -> tensor<1x32xf32>
// CHECK-NEXT: return %[[LOGITS]], %[[KC1]], %[[VC]] : tensor<1x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>

// Layer 0's q/k projections follow the variant; the fixed ones do not.
// CHECK-LABEL: func.func @decode_b3(
// CHECK-SAME: tensor<1xi64>
// CHECK-SAME: attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<3>}
// CHECK-NOT: ?
// CHECK: pmpd.qlinear {{.*}} precision <3> : tensor<1x8xf32>, !pmpd.qweight<8x8
// CHECK: pmpd.qlinear {{.*}} precision <3> : tensor<1x8xf32>, !pmpd.qweight<4x8
// CHECK: pmpd.qlinear {{.*}} precision <3> : tensor<1x8xf32>, !pmpd.qweight<8x8
// CHECK: pmpd.qlinear {{.*}} precision <4> : tensor<1x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <4> : tensor<1x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <4> : tensor<1x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <16> : tensor<1x8xf32>, tensor<32x8xf16> -> tensor<1x32xf32>
// CHECK: return

// CHECK-LABEL: func.func @decode_b2(
// CHECK-SAME: tensor<1xi64>
// CHECK-SAME: attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<2>}
// CHECK-NOT: ?
// CHECK: pmpd.qlinear {{.*}} precision <2> : tensor<1x8xf32>, !pmpd.qweight<8x8
// CHECK: pmpd.qlinear {{.*}} precision <2> : tensor<1x8xf32>, !pmpd.qweight<4x8
// CHECK: pmpd.qlinear {{.*}} precision <3> : tensor<1x8xf32>, !pmpd.qweight<8x8
// CHECK: pmpd.qlinear {{.*}} precision <4> : tensor<1x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <4> : tensor<1x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <4> : tensor<1x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <16> : tensor<1x8xf32>, tensor<32x8xf16> -> tensor<1x32xf32>
// CHECK: return
// CHECK-NOT: func.func
#tok = affine_map<(d0, d1) -> (d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 8, 2 from 12]>} {
  pmpd.weight @embed_tokens = "model.embed_tokens.weight" : tensor<32x8xf16>
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @layers.0.k_proj = "model.layers.0.self_attn.k_proj" : !pmpd.qweight<4x8, parent = 4, seed = 2>
  pmpd.weight @layers.0.o_proj = "model.layers.0.self_attn.o_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @layers.1.q_proj = "model.layers.1.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @layers.1.k_proj = "model.layers.1.self_attn.k_proj" : !pmpd.qweight<4x8, parent = 4, seed = 2>
  pmpd.weight @layers.1.o_proj = "model.layers.1.self_attn.o_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @layers.1.unused = "model.layers.1.unused" : tensor<8xf16>
  pmpd.weight @norm = "model.norm.weight" : tensor<8xf16>
  pmpd.weight @lm_head = "lm_head.weight" : tensor<32x8xf16>

  func.func @forward(%tokens: tensor<?xi64>, %start: index,
                     %k_cache: tensor<2x16x1x4xf32>, %v_cache: tensor<2x16x1x4xf32>)
      -> (tensor<?x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>) {
    %c0 = arith.constant 0 : index
    %n = tensor.dim %tokens, %c0 : tensor<?xi64>
    %embed = pmpd.get_weight @embed_tokens : tensor<32x8xf16>
    %init = tensor.empty(%n) : tensor<?x8xf32>
    %x0 = linalg.generic {indexing_maps = [#tok, #id], iterator_types = ["parallel", "parallel"]}
        ins(%tokens : tensor<?xi64>) outs(%init : tensor<?x8xf32>) {
    ^bb0(%t: i64, %out: f32):
      %row = arith.index_cast %t : i64 to index
      %c = linalg.index 1 : index
      %e = tensor.extract %embed[%row, %c] : tensor<32x8xf16>
      %f = arith.extf %e : f16 to f32
      linalg.yield %f : f32
    } -> tensor<?x8xf32>

    %wq0 = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %q0 = pmpd.qlinear %x0, %wq0 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %wk0 = pmpd.get_weight @layers.0.k_proj : !pmpd.qweight<4x8, parent = 4, seed = 2>
    %k0 = pmpd.qlinear %x0, %wk0 : tensor<?x8xf32>, !pmpd.qweight<4x8, parent = 4, seed = 2> -> tensor<?x4xf32>
    %kc0 = tensor.insert_slice %k0 into %k_cache[0, %start, 0, 0] [1, %n, 1, 4] [1, 1, 1, 1]
        : tensor<?x4xf32> into tensor<2x16x1x4xf32>
    %wo0 = pmpd.get_weight @layers.0.o_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %o0 = pmpd.qlinear %q0, %wo0 {pmpd.precision = #pmpd.precision<3>} : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %x1 = linalg.add ins(%x0, %o0 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%init : tensor<?x8xf32>) -> tensor<?x8xf32>

    %wq1 = pmpd.get_weight @layers.1.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %q1 = pmpd.qlinear %x1, %wq1 {pmpd.precision = #pmpd.precision<4>} : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %wk1 = pmpd.get_weight @layers.1.k_proj : !pmpd.qweight<4x8, parent = 4, seed = 2>
    %k1 = pmpd.qlinear %x1, %wk1 {pmpd.precision = #pmpd.precision<4>} : tensor<?x8xf32>, !pmpd.qweight<4x8, parent = 4, seed = 2> -> tensor<?x4xf32>
    %kc1 = tensor.insert_slice %k1 into %kc0[1, %start, 0, 0] [1, %n, 1, 4] [1, 1, 1, 1]
        : tensor<?x4xf32> into tensor<2x16x1x4xf32>
    %wo1 = pmpd.get_weight @layers.1.o_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %o1 = pmpd.qlinear %q1, %wo1 {pmpd.precision = #pmpd.precision<4>} : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    %x2 = linalg.add ins(%x1, %o1 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%init : tensor<?x8xf32>) -> tensor<?x8xf32>

    %norm = pmpd.get_weight @norm : tensor<8xf16>
    %xn = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
        ins(%x2, %norm : tensor<?x8xf32>, tensor<8xf16>) outs(%init : tensor<?x8xf32>) {
    ^bb0(%a: f32, %g: f16, %out: f32):
      %gf = arith.extf %g : f16 to f32
      %m = arith.mulf %a, %gf : f32
      linalg.yield %m : f32
    } -> tensor<?x8xf32>
    %wl = pmpd.get_weight @lm_head : tensor<32x8xf16>
    %logits = pmpd.qlinear %xn, %wl : tensor<?x8xf32>, tensor<32x8xf16> -> tensor<?x32xf32>
    return %logits, %kc1, %v_cache : tensor<?x32xf32>, tensor<2x16x1x4xf32>, tensor<2x16x1x4xf32>
  }
}

// -----

// A function other than @forward is left alone, and so are the weights it
// uses; a weight @forward fetched but never used is dropped, fetch and
// declaration; the decode variants keep @forward's other arguments as they
// are.
// CHECK-LABEL: module attributes {pmpd.schedule
// CHECK: pmpd.weight @layers.0.q_proj
// CHECK-NOT: @dead
// CHECK: pmpd.weight @helper_table
// CHECK-LABEL: func.func @helper(
// CHECK: pmpd.get_weight @helper_table
// CHECK-LABEL: func.func @prefill(
// CHECK-NOT: @dead
// CHECK-LABEL: func.func @decode_b3(
// CHECK-SAME: %{{.*}}: tensor<1xi64>, %{{.*}}: tensor<?x8xf32>) -> tensor<?x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <3> : tensor<?x8xf32>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [3 from 0]>} {
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
  pmpd.weight @dead = "dead" : tensor<8xf16>
  pmpd.weight @helper_table = "table" : tensor<8xf16>
  func.func @helper() -> tensor<8xf16> {
    %t = pmpd.get_weight @helper_table : tensor<8xf16>
    return %t : tensor<8xf16>
  }
  func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %dead = pmpd.get_weight @dead : tensor<8xf16>
    %w = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
    %y = pmpd.qlinear %x, %w : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

// An fp16 model (tensor weights, lm_head tied to the embedding) at fp16
// throughout: one decode variant, @decode_b16, with a tensor<1x...> matmul.
// CHECK-LABEL: module attributes {pmpd.schedule
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: tensor<?xi64>
// CHECK-SAME: pmpd.phase = #pmpd.phase<prefill>, pmpd.precision = #pmpd.precision<16>
// CHECK: pmpd.qlinear {{.*}} precision <16> : tensor<?x8xf32>, tensor<8x8xf16> -> tensor<?x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <16> : tensor<?x8xf32>, tensor<32x8xf16> -> tensor<?x32xf32>
// CHECK-LABEL: func.func @decode_b16(
// CHECK-SAME: %{{.*}}: tensor<1xi64>) -> tensor<1x32xf32>
// CHECK-SAME: pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<16>
// CHECK-NOT: ?
// CHECK: pmpd.qlinear {{.*}} precision <16> : tensor<1x8xf32>, tensor<8x8xf16> -> tensor<1x8xf32>
// CHECK: pmpd.qlinear {{.*}} precision <16> : tensor<1x8xf32>, tensor<32x8xf16> -> tensor<1x32xf32>
// CHECK-NOT: func.func
#tok = affine_map<(d0, d1) -> (d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 16, decode = [16 from 0]>} {
  pmpd.weight @embed_tokens = "model.embed_tokens.weight" : tensor<32x8xf16>
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf16>
  func.func @forward(%tokens: tensor<?xi64>) -> tensor<?x32xf32> {
    %c0 = arith.constant 0 : index
    %n = tensor.dim %tokens, %c0 : tensor<?xi64>
    %embed = pmpd.get_weight @embed_tokens : tensor<32x8xf16>
    %init = tensor.empty(%n) : tensor<?x8xf32>
    %x = linalg.generic {indexing_maps = [#tok, #id], iterator_types = ["parallel", "parallel"]}
        ins(%tokens : tensor<?xi64>) outs(%init : tensor<?x8xf32>) {
    ^bb0(%t: i64, %out: f32):
      %row = arith.index_cast %t : i64 to index
      %c = linalg.index 1 : index
      %e = tensor.extract %embed[%row, %c] : tensor<32x8xf16>
      %f = arith.extf %e : f16 to f32
      linalg.yield %f : f32
    } -> tensor<?x8xf32>
    %wq = pmpd.get_weight @layers.0.q_proj : tensor<8x8xf16>
    %q = pmpd.qlinear %x, %wq : tensor<?x8xf32>, tensor<8x8xf16> -> tensor<?x8xf32>
    %logits = pmpd.qlinear %q, %embed : tensor<?x8xf32>, tensor<32x8xf16> -> tensor<?x32xf32>
    return %logits : tensor<?x32xf32>
  }
}
