
// expected-error @+1 {{needs the name of a tensor in the weights file}}
pmpd.weight @w = "" : tensor<4x32xf16>

