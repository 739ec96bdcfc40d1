
// CHECK: pmpd.weight @q = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<512x512, parent = 4, seed = 2>
pmpd.weight @q = "model.layers.0.self_attn.q_proj" : !pmpd.qweight<512x512, parent = 4, seed = 2>
// CHECK: pmpd.weight @wide = "w" : !pmpd.qweight<11008x4096, parent = 8, seed = 3>
pmpd.weight @wide = "w" : !pmpd.qweight<11008x4096, parent = 8, seed = 3>
// A single-width weight: seed equals parent.
// CHECK: pmpd.weight @single = "s" : !pmpd.qweight<7x9, parent = 2, seed = 2>
pmpd.weight @single = "s" : !pmpd.qweight<7x9, parent = 2, seed = 2>
