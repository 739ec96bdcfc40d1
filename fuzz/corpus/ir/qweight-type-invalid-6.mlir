
// expected-error @+1 {{expected static shape}}
pmpd.weight @w = "w" : !pmpd.qweight<?x32, parent = 4, seed = 2>
