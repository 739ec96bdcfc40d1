
// expected-error @+1 {{attribute 'type' failed to satisfy constraint: type attribute of packed any-precision weight or float tensor}}
pmpd.weight @w = "w" : tensor<4x32xi32>

