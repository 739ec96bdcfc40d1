
pmpd.weight @w = "a" : tensor<4xf16>
// expected-error @+2 {{redefinition of symbol named 'w'}}
// expected-note @-2 {{see existing symbol definition here}}
pmpd.weight @w = "b" : tensor<4xf16>

