
// expected-error @+1 {{qweight seed bits must be in [2, parent = 4], got 1}}
pmpd.weight @w = "w" : !pmpd.qweight<64x32, parent = 4, seed = 1>

