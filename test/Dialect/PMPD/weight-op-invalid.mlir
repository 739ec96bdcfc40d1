// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{weight tensor must have a static shape, got 'tensor<?x32xf16>'}}
pmpd.weight @w = "w" : tensor<?x32xf16>

// -----

// expected-error @+1 {{needs the name of a tensor in the weights file}}
pmpd.weight @w = "" : tensor<4x32xf16>

// -----

// expected-error @+1 {{attribute 'type' failed to satisfy constraint: type attribute of packed any-precision weight or float tensor}}
pmpd.weight @w = "w" : tensor<4x32xi32>

// -----

pmpd.weight @w = "a" : tensor<4xf16>
// expected-error @+2 {{redefinition of symbol named 'w'}}
// expected-note @-2 {{see existing symbol definition here}}
pmpd.weight @w = "b" : tensor<4xf16>

// -----

// expected-error @+1 {{expects 4 byte offsets for '!pmpd.qweight<16x64, parent = 4, seed = 2>', got 1}}
pmpd.weight @w = "w" at [0] : !pmpd.qweight<16x64, parent = 4, seed = 2>

// -----

// expected-error @+1 {{byte offset -8 is negative}}
pmpd.weight @w = "w" at [-8] : tensor<4xf16>
