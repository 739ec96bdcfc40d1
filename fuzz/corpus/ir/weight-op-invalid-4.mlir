
// expected-error @+1 {{expects 4 byte offsets for '!pmpd.qweight<16x64, parent = 4, seed = 2>', got 1}}
pmpd.weight @w = "w" at [0] : !pmpd.qweight<16x64, parent = 4, seed = 2>

