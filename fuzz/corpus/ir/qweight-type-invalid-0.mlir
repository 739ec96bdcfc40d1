
// expected-error @+1 {{qweight must be a matrix (rows x columns), got rank 1}}
pmpd.weight @w = "w" : !pmpd.qweight<64, parent = 4, seed = 2>

