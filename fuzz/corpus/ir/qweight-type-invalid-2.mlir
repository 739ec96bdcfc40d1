
// expected-error @+1 {{qweight dimensions must be positive, got 0x32}}
pmpd.weight @w = "w" : !pmpd.qweight<0x32, parent = 4, seed = 2>

