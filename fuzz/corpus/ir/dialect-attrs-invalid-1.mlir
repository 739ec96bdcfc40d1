
// expected-error @+1 {{'pmpd.phase' may only be attached to a function}}
module attributes {pmpd.phase = #pmpd.phase<decode>} {}

