
// expected-error @+1 {{weight tensor must have a static shape, got 'tensor<?x32xf16>'}}
pmpd.weight @w = "w" : tensor<?x32xf16>

