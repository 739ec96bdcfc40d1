
// Float weights stay tensors, bound by name like packed ones.
// CHECK: pmpd.weight @embed = "model.embed_tokens.weight" : tensor<8192x512xf16>
pmpd.weight @embed = "model.embed_tokens.weight" : tensor<8192x512xf16>
// CHECK: pmpd.weight @norm = "model.norm.weight" : tensor<512xf32>
pmpd.weight @norm = "model.norm.weight" : tensor<512xf32>
// CHECK: pmpd.weight @bf = "x" {note = "kept"} : tensor<4xbf16>
pmpd.weight @bf = "x" {note = "kept"} : tensor<4xbf16>

// A weight bound to its place in a weights file.
// CHECK: pmpd.weight @bound = "model.norm.weight" at [4096] : tensor<512xf16>
pmpd.weight @bound = "model.norm.weight" at [4096] : tensor<512xf16>
// Packed: the planes, then the tables of widths 2, 3 and 4.
// CHECK: pmpd.weight @packed = "p" at [0, 1024, 1280, 1792] : !pmpd.qweight<16x64, parent = 4, seed = 2>
pmpd.weight @packed = "p" at [0, 1024, 1280, 1792] : !pmpd.qweight<16x64, parent = 4, seed = 2>
