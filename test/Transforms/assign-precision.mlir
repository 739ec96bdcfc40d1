// RUN: pmpd-opt %s --split-input-file --pmpd-assign-precision='schedule=prefill=4;decode=4@0,3@64,2@128 overrides=layers.1=4,layers.0.o_proj=3' | FileCheck %s
// Running the pass twice with the same options changes nothing.
// RUN: pmpd-opt %s --split-input-file --pmpd-assign-precision='schedule=prefill=4;decode=4@0,3@64,2@128 overrides=layers.1=4,layers.0.o_proj=3' \
// RUN:   --pmpd-assign-precision='schedule=prefill=4;decode=4@0,3@64,2@128 overrides=layers.1=4,layers.0.o_proj=3' | FileCheck %s
// Without a schedule option the recorded one is checked and kept.
// RUN: pmpd-opt %s --split-input-file --pmpd-assign-precision='schedule=prefill=4;decode=4@0,3@64,2@128 overrides=layers.1=4,layers.0.o_proj=3' \
// RUN:   --pmpd-assign-precision | FileCheck %s

// The schedule is recorded on the module; the overridden projections (all of
// layer 1; layer 0's o_proj only) carry their fixed precision; the others and
// lm_head carry none yet.

// CHECK: module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]>}
// CHECK-LABEL: func.func @forward
// CHECK: %[[W0Q:.*]] = pmpd.get_weight @layers.0.q_proj
// CHECK: pmpd.qlinear %{{.*}}, %[[W0Q]] :
// CHECK-NOT: pmpd.precision
// CHECK: %[[W0O:.*]] = pmpd.get_weight @layers.0.o_proj
// CHECK: pmpd.qlinear %{{.*}}, %[[W0O]] {pmpd.precision = #pmpd.precision<3>}
// CHECK: %[[W1Q:.*]] = pmpd.get_weight @layers.1.q_proj
// CHECK: pmpd.qlinear %{{.*}}, %[[W1Q]] {pmpd.precision = #pmpd.precision<4>}
// CHECK: %[[W1O:.*]] = pmpd.get_weight @layers.1.o_proj
// CHECK: pmpd.qlinear %{{.*}}, %[[W1O]] {pmpd.precision = #pmpd.precision<4>}
// CHECK: %[[WL:.*]] = pmpd.get_weight @lm_head
// CHECK: pmpd.qlinear %{{.*}}, %[[WL]] :
// CHECK-NOT: pmpd.precision
// CHECK: return
pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
pmpd.weight @layers.0.o_proj = "model.layers.0.self_attn.o_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
pmpd.weight @layers.1.q_proj = "model.layers.1.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
pmpd.weight @layers.1.o_proj = "model.layers.1.self_attn.o_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
pmpd.weight @lm_head = "lm_head.weight" : tensor<32x8xf16>
func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x32xf32> {
  %w0q = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
  %q0 = pmpd.qlinear %x, %w0q : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
  %w0o = pmpd.get_weight @layers.0.o_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
  %o0 = pmpd.qlinear %q0, %w0o : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
  %w1q = pmpd.get_weight @layers.1.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
  %q1 = pmpd.qlinear %o0, %w1q : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
  %w1o = pmpd.get_weight @layers.1.o_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
  %o1 = pmpd.qlinear %q1, %w1o : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
  %wl = pmpd.get_weight @lm_head : tensor<32x8xf16>
  %logits = pmpd.qlinear %o1, %wl : tensor<?x8xf32>, tensor<32x8xf16> -> tensor<?x32xf32>
  return %logits : tensor<?x32xf32>
}

// -----

// An override names a layer or projection up to a '.': layers.1 fixes
// @layers.1.q_proj but not @layers.10.q_proj.
// CHECK: module attributes {pmpd.schedule =
// CHECK-LABEL: func.func @forward
// CHECK: pmpd.get_weight @layers.10.q_proj
// CHECK-NEXT: pmpd.qlinear %{{.*}}, %{{.*}} : tensor<?x8xf32>
// CHECK-NEXT: pmpd.get_weight @layers.1.q_proj
// CHECK-NEXT: pmpd.qlinear %{{.*}}, %{{.*}} {pmpd.precision = #pmpd.precision<4>}
// CHECK-NEXT: pmpd.get_weight @layers.0.o_proj
// CHECK-NEXT: pmpd.qlinear %{{.*}}, %{{.*}} {pmpd.precision = #pmpd.precision<3>}
pmpd.weight @layers.1.q_proj = "model.layers.1.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
pmpd.weight @layers.10.q_proj = "model.layers.10.self_attn.q_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
pmpd.weight @layers.0.o_proj = "model.layers.0.self_attn.o_proj" : !pmpd.qweight<8x8, parent = 4, seed = 2>
func.func @forward(%tokens: tensor<?xi64>, %x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %w10 = pmpd.get_weight @layers.10.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
  %y10 = pmpd.qlinear %x, %w10 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
  %w1 = pmpd.get_weight @layers.1.q_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
  %y1 = pmpd.qlinear %y10, %w1 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
  %w0 = pmpd.get_weight @layers.0.o_proj : !pmpd.qweight<8x8, parent = 4, seed = 2>
  %y0 = pmpd.qlinear %y1, %w0 : tensor<?x8xf32>, !pmpd.qweight<8x8, parent = 4, seed = 2> -> tensor<?x8xf32>
  return %y0 : tensor<?x8xf32>
}
