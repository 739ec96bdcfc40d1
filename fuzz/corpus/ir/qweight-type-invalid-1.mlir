
// expected-error @+1 {{qweight must be a matrix (rows x columns), got rank 3}}
pmpd.weight @w = "w" : !pmpd.qweight<2x64x32, parent = 4, seed = 2>

