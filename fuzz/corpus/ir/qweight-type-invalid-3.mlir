
// expected-error @+1 {{qweight parent bits must be in [2, 8], got 9}}
pmpd.weight @w = "w" : !pmpd.qweight<64x32, parent = 9, seed = 2>

