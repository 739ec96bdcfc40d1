
// expected-error @+1 {{byte offset -8 is negative}}
pmpd.weight @w = "w" at [-8] : tensor<4xf16>
