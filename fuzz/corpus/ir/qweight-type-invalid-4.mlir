
// expected-error @+1 {{qweight seed bits must be in [2, parent = 3], got 4}}
pmpd.weight @w = "w" : !pmpd.qweight<64x32, parent = 3, seed = 4>

