// RUN: pmpd-opt %s | pmpd-opt | FileCheck %s
// RUN: pmpd-opt %s --mlir-print-op-generic | pmpd-opt | FileCheck %s

// Float weights stay tensors, bound by name like packed ones.
// CHECK: pmpd.weight @embed = "model.embed_tokens.weight" : tensor<8192x512xf16>
pmpd.weight @embed = "model.embed_tokens.weight" : tensor<8192x512xf16>
// CHECK: pmpd.weight @norm = "model.norm.weight" : tensor<512xf32>
pmpd.weight @norm = "model.norm.weight" : tensor<512xf32>
// CHECK: pmpd.weight @bf = "x" {note = "kept"} : tensor<4xbf16>
pmpd.weight @bf = "x" {note = "kept"} : tensor<4xbf16>
