// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{qweight must be a matrix (rows x columns), got rank 1}}
pmpd.weight @w = "w" : !pmpd.qweight<64, parent = 4, seed = 2>

// -----

// expected-error @+1 {{qweight must be a matrix (rows x columns), got rank 3}}
pmpd.weight @w = "w" : !pmpd.qweight<2x64x32, parent = 4, seed = 2>

// -----

// expected-error @+1 {{qweight dimensions must be positive, got 0x32}}
pmpd.weight @w = "w" : !pmpd.qweight<0x32, parent = 4, seed = 2>

// -----

// expected-error @+1 {{qweight parent bits must be in [2, 8], got 9}}
pmpd.weight @w = "w" : !pmpd.qweight<64x32, parent = 9, seed = 2>

// -----

// expected-error @+1 {{qweight seed bits must be in [2, parent = 3], got 4}}
pmpd.weight @w = "w" : !pmpd.qweight<64x32, parent = 3, seed = 4>

// -----

// expected-error @+1 {{qweight seed bits must be in [2, parent = 4], got 1}}
pmpd.weight @w = "w" : !pmpd.qweight<64x32, parent = 4, seed = 1>

// -----

// expected-error @+1 {{expected static shape}}
pmpd.weight @w = "w" : !pmpd.qweight<?x32, parent = 4, seed = 2>
